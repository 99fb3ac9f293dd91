"""Blind index length planning (CipherSweet's rule and planner).

For ``R`` rows and indexes of ``L_i`` bits over inputs of ``K_i`` bits of entropy, the expected
number of rows sharing one combination of index values is ``C = R / 2^sum(min(L_i, K_i))``.
A length is safe when ``2 <= C <= sqrt(R)``: below 2 an index value nearly identifies a row
(leaks), above ``sqrt(R)`` a lookup returns too many false positives to be worth an index.
This is CipherSweet's ``FieldIndexPlanner`` (paragonie/ciphersweet ``src/Planner``), reproduced
so its published examples give the same answers: e.g. 50,000 rows and no other index -> 8..15
bits; 2^16 rows -> 8..15; 2^31 rows -> 16..30. Its upper test is ``C <= sqrt(R)`` (inclusive,
which the examples need) and its maximum is the largest length whose ``C`` stays at or above
``max(2, C at 257 bits)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from vaultkit.errors import PolicyError, VaultkitTypeError

__all__ = ["IndexPlan", "index_bits", "plan", "recommend"]

_UNBOUNDED = 2**63 - 1  # CipherSweet's PHP_INT_MAX: an input domain with no limit


@dataclasses.dataclass(frozen=True)
class IndexPlan:
    """The safe range of index lengths for ``rows`` rows and the chosen (or checked) length."""

    rows: int
    min_bits: int
    max_bits: int
    bits: int
    coincidences: float  # expected rows per index value (all indexes of the field together)


def _coincidences(indexes: Sequence[tuple[int, int]], rows: int) -> float:
    exponent = sum(min(length, domain) for length, domain in indexes)
    return max(1, rows) / 2.0**exponent


def _int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise VaultkitTypeError(f"{name} must be an int >= {low}")
    return value


def recommend(
    *,
    rows: int,
    existing: Sequence[tuple[int, int | None]] = (),
    input_bits: int | None = None,
) -> tuple[int, int]:
    """CipherSweet's ``FieldIndexPlanner::recommend``: ``(min, max)`` index lengths in bits.

    ``existing`` lists the field's other indexes as ``(bits, input_bits)`` (None: unbounded
    input); ``input_bits`` bounds the entropy of the new index's input (e.g. 14 for a 4-digit
    year: log2(10,000) rounded up). Like CipherSweet, it returns a range even when no length in
    it meets the rule (then ``min`` is 1); :func:`plan` refuses that case.
    """
    rows = _int("rows", rows, 1)
    extra = _UNBOUNDED if input_bits is None else _int("input_bits", input_bits, 1)
    others = _others(existing)
    sqrt_r = math.sqrt(rows)
    boundary = max(2.0, _coincidences([*others, (257, extra)], rows))
    low: int | None = None
    high: int | None = None
    for length in range(256, 0, -1):
        c = _coincidences([*others, (length, extra)], rows)
        if high is None and c > boundary:
            high = length + 1
        if 2 <= c <= sqrt_r:
            low = length
    low = 1 if low is None else low
    high = min(256, extra) if high is None else high
    return min(low, high), high


def _others(existing: Sequence[tuple[int, int | None]]) -> list[tuple[int, int]]:
    return [
        (_int("existing bits", b, 1), _UNBOUNDED if k is None else _int("existing input", k, 1))
        for b, k in existing
    ]


def plan(
    bits: int | None = None,
    *,
    rows: int,
    existing: Sequence[tuple[int, int | None]] = (),
    input_bits: int | None = None,
) -> IndexPlan:
    """Plan (``bits=None``) or check (``bits=L``) a blind index of a field with ``rows`` rows.

    Arguments as :func:`recommend`. Raises :class:`~vaultkit.errors.PolicyError` when ``bits``
    breaks the rule ``2 <= C <= sqrt(R)`` or lies outside the recommended range, and, with
    ``bits=None``, when no length is safe (input entropy too low for so many rows: index a
    compound of more fields instead). With ``bits=None`` the plan picks the middle safe length.
    """
    low, high = recommend(rows=rows, existing=existing, input_bits=input_bits)
    extra = _UNBOUNDED if input_bits is None else input_bits
    others = _others(existing)
    sqrt_r = math.sqrt(rows)

    def coincidences(length: int) -> float:
        return _coincidences([*others, (length, extra)], rows)

    safe = [n for n in range(low, high + 1) if 2 <= coincidences(n) <= sqrt_r]
    if bits is None:
        if not safe:
            raise PolicyError(
                f"no blind index length is safe for {rows:,} rows with this input "
                "(2 <= R/2^L <= sqrt(R), CipherSweet's rule); index a compound of more fields"
            )
        bits = safe[len(safe) // 2]
    elif _int("bits", bits, 1) not in safe:
        raise PolicyError(
            f"a {bits}-bit blind index over {rows:,} rows gives {coincidences(bits):,.2f} rows "
            f"per index value; safe lengths are {safe[0] if safe else low}.."
            f"{safe[-1] if safe else high} bits (2 <= R/2^L <= sqrt(R), CipherSweet's rule)"
        )
    return IndexPlan(
        rows=rows, min_bits=low, max_bits=high, bits=bits, coincidences=coincidences(bits)
    )


def index_bits(
    bits: int | None = None,
    *,
    rows: int,
    accept_identifying: bool = False,
    where: str = "blind index",
) -> int:
    """The length of a declared single-input blind index over ``rows`` rows: the one call the
    ORM's ``BlindIndex(rows=..., bits=...)`` and ``vaultkit reencrypt --blind-index`` share.

    ``bits=None``: the planner's choice (:func:`plan`). An explicit ``bits`` is checked against
    the planner's safe range for ``rows`` and refused (:class:`~vaultkit.errors.PolicyError`
    naming ``where``) outside it, unless ``accept_identifying``: the documented override for a
    user who accepts an index that nearly identifies rows (too long) or returns too many (too
    short). ``rows`` below 1 plans for 1 row (nothing is then safe: give ``bits`` and accept).
    """
    rows = max(1, rows) if isinstance(rows, int) and not isinstance(rows, bool) else rows
    if bits is not None and accept_identifying:
        _int("bits", bits, 1)
        return bits
    try:
        return plan(bits, rows=rows).bits
    except PolicyError as exc:
        msg = str(exc)
    raise PolicyError(f"{where}: {msg}; to accept this trade-off, say so explicitly")
