"""Luhn (ISO/IEC 7812-1 Annex B) over whole batches, column by column, without a per-value loop.

A batch of ``rows`` numbers of ``n`` digits is one row-major ASCII buffer. Column ``k`` (every
``n``-th byte from ``k``) holds the digit at position ``p = n - 1 - k`` from the right; its Luhn
contribution is the digit itself (``p`` even) or the digit sum of its double (``p`` odd), which
is again a single digit. Each column, translated to contributions, is read as one little-endian
integer with a byte per row; adding the columns adds the rows lane by lane (at most 28 columns
of 9: no lane overflows a byte), and a final translate takes every lane mod 10.
"""

from __future__ import annotations

from collections.abc import Sequence

from vaultkit.identifiers._luhn import LUHN_DOUBLED

__all__ = [
    "card_rows",
    "cn_id_rows",
    "digit_rows",
    "id_check_chars",
    "id_sums",
    "mobile_rows",
    "residues",
    "solve",
]

_PLAIN = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED = bytes.maketrans(b"0123456789", bytes(LUHN_DOUBLED))
_MOD10 = bytes(i % 10 for i in range(256))
_MAX_COLUMNS = 28  # 28 * 9 = 252 < 256


def residues(
    buf: bytes | bytearray,
    n: int,
    *,
    stride: int | None = None,
    first: int = 0,
    skip: int | None = None,
) -> bytes:
    """Per row, the Luhn sum mod 10 (one byte 0..9 per row).

    Rows are ``n`` digits every ``stride`` bytes (default ``n``; e.g. ``n + 1`` for rows
    separated by a space). ``first`` is the position from the right of the rows' last digit (0
    for whole numbers; the position of the last middle digit for a batch of middles); the
    digit at position ``skip`` counts as 0.
    """
    if n > _MAX_COLUMNS:
        raise ValueError("Luhn batches hold at most 28 digits per row")
    step = n if stride is None else stride
    rows = (len(buf) + step - n) // step
    total = 0
    for k in range(n):
        p = first + n - 1 - k
        if p == skip:
            continue
        column = bytes(buf[k::step]).translate(_DOUBLED if p & 1 else _PLAIN)
        total += int.from_bytes(column[:rows], "little")
    return total.to_bytes(rows, "little").translate(_MOD10)


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


def solve(buf: bytearray, n: int, pos: int, target: int, *, stride: int | None = None) -> None:
    """Set, in every row, the digit at position ``pos`` from the right so that the row's Luhn
    sum is ``target`` mod 10 (0: the number passes Luhn)."""
    step = n if stride is None else stride
    rest = residues(buf, n, stride=step, skip=pos)
    buf[n - 1 - pos :: step] = rest.translate(_SOLVE[pos & 1][target])


# GB 11643 / ISO 7064 MOD 11-2 over a batch of 18-character ID numbers, with 16-bit lanes:
# sum(W_k * a_k) <= 17 * 10 * 9 + 10 = 1540 fits a lane; lane mod 11 = (lo + 3 * hi) mod 11
# because 256 = 3 (mod 11).
_ID_WEIGHTS = tuple(pow(2, 17 - k, 11) for k in range(17))
_ID_VALUE = bytes.maketrans(b"0123456789X", bytes(range(11)))
_MOD11 = bytes(i % 11 for i in range(256))
_TIMES3 = bytes((3 * i) & 0xFF for i in range(256))
_ID_CHECK = bytes.maketrans(bytes(range(11)), b"10X98765432")


def id_sums(buf: bytes | bytearray, *, with_check: bool, stride: int = 18) -> bytes:
    """Per 18-character row (digits, X only in position 18; rows ``stride`` bytes apart):
    sum(a_i * 2^(18-i)) mod 11 over the first 17 characters, plus the check character's value
    (X = 10) with ``with_check``. A valid number has 1 with the check included (ISO 7064
    MOD 11-2)."""
    rows = (len(buf) + stride - 18) // stride
    lane = bytearray(2 * rows)
    total = 0
    for k in range(18 if with_check else 17):
        lane[0::2] = bytes(buf[k::stride][:rows]).translate(_ID_VALUE)
        total += (_ID_WEIGHTS[k] if k < 17 else 1) * int.from_bytes(lane, "little")
    raw = total.to_bytes(2 * rows, "little")
    lo = int.from_bytes(raw[0::2].translate(_MOD11), "little")
    hi = int.from_bytes(raw[1::2].translate(_TIMES3), "little")
    return (lo + hi).to_bytes(rows, "little").translate(_MOD11)


def id_check_chars(buf: bytearray, *, stride: int = 18) -> None:
    """Write the GB 11643 check character of every 18-character row into its last column."""
    buf[17::stride] = id_sums(buf, with_check=False, stride=stride).translate(_ID_CHECK)


# -- whole-batch proofs of normal form ----------------------------------------------------------
# ``raw`` is a batch of ASCII values joined by ``sep`` (one byte, or b"" for fixed-width rows);
# each check is True only when every value is already in the normal form of its kind, so callers
# can skip the per-value normalizer. The separator is counted: a value holding it fails.

_DIGITS = b"0123456789"


def _one_width(raw: bytes, values: Sequence[str], width: int, sep: bytes) -> bool:
    rows = len(values)
    if rows == 0 or set(map(len, values)) != {width}:
        return False
    return len(raw) == rows * (width + len(sep)) - len(sep) and (
        not sep or raw.count(sep) == rows - 1
    )


def digit_rows(raw: bytes, values: Sequence[str], sep: bytes = b"\x00") -> bool:
    """Every value is one or more ASCII digits (account numbers in normal form)."""
    return (
        bool(values)
        and all(values)
        and (not sep or raw.count(sep) == len(values) - 1)
        and not raw.translate(None, _DIGITS + sep)
    )


def card_rows(raw: bytes, values: Sequence[str], sep: bytes = b"\x00") -> bool:
    """Every value is a card number of one length in 12-19 digits that passes Luhn."""
    n = len(values[0]) if values else 0
    if not 12 <= n <= 19 or not _one_width(raw, values, n, sep):
        return False
    if raw.translate(None, _DIGITS + sep):
        return False
    ok = residues(raw, n, stride=n + len(sep))  # ISO/IEC 7812-1 Luhn of every row
    return ok.count(0) == len(ok)


def mobile_rows(raw: bytes, values: Sequence[str], sep: bytes = b"\x00") -> bool:
    """Every value is 11 digits starting ``1[3-9]`` (mainland mobile numbers, normal form)."""
    step = 11 + len(sep)
    return (
        _one_width(raw, values, 11, sep)
        and not raw.translate(None, _DIGITS + sep)
        and not raw[0::step].strip(b"1")
        and not raw[1::step].strip(b"3456789")
    )


def cn_id_rows(raw: bytes, values: Sequence[str], sep: bytes = b"\x00") -> bool:
    """Every value is 18 characters, digits except an upper-case X in the check position (the
    shape of a normal-form ID number; the check character itself is verified by the caller)."""
    return (
        _one_width(raw, values, 18, sep)
        and raw.count(b"X") == raw[17 :: 18 + len(sep)].count(b"X")
        and not raw.translate(None, _DIGITS + b"X" + sep)
    )
