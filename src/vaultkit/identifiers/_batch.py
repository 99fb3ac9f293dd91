"""Luhn (ISO/IEC 7812-1 Annex B) over whole batches, column by column, without a per-value loop.

A batch of ``rows`` numbers of ``n`` digits is one row-major ASCII buffer. Column ``k`` (every
``n``-th byte from ``k``) holds the digit at position ``p = n - 1 - k`` from the right; its Luhn
contribution is the digit itself (``p`` even) or the digit sum of its double (``p`` odd), which
is again a single digit. Each column, translated to contributions, is read as one little-endian
integer with a byte per row; adding the columns adds the rows lane by lane (at most 28 columns
of 9: no lane overflows a byte), and a final translate takes every lane mod 10.
"""

from __future__ import annotations

from vaultkit.identifiers._luhn import LUHN_DOUBLED

__all__ = ["residues", "solve"]

_PLAIN = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED = bytes.maketrans(b"0123456789", bytes(LUHN_DOUBLED))
_MOD10 = bytes(i % 10 for i in range(256))
_MAX_COLUMNS = 28  # 28 * 9 = 252 < 256


def residues(buf: bytes | bytearray, n: int, *, first: int = 0, skip: int | None = None) -> bytes:
    """Per row, the Luhn sum mod 10 (one byte 0..9 per row).

    ``first`` is the position from the right of the rows' last digit (0 for whole numbers; the
    position of the last middle digit for a batch of middles); the digit at position ``skip``
    counts as 0.
    """
    if n > _MAX_COLUMNS:
        raise ValueError("Luhn batches hold at most 28 digits per row")
    total = 0
    for k in range(n):
        p = first + n - 1 - k
        if p == skip:
            continue
        column = bytes(buf[k::n]).translate(_DOUBLED if p & 1 else _PLAIN)
        total += int.from_bytes(column, "little")
    return total.to_bytes(len(buf) // n, "little").translate(_MOD10)


# _SOLVE[doubled][target][r] = ASCII digit d whose contribution c satisfies r + c = target mod 10
_SOLVE = tuple(
    tuple(
        bytes(
            48 + (LUHN_DOUBLED.index(c) if doubled else c)
            for r in range(256)
            for c in ((target - r) % 10,)
        )
        for target in range(10)
    )
    for doubled in (False, True)
)


def solve(buf: bytearray, n: int, pos: int, target: int) -> None:
    """Set, in every row, the digit at position ``pos`` from the right so that the row's Luhn
    sum is ``target`` mod 10 (0: the number passes Luhn)."""
    rest = residues(buf, n, skip=pos)
    buf[n - 1 - pos :: n] = rest.translate(_SOLVE[pos & 1][target])
