"""The planner reproduces CipherSweet's published examples and enforces its rule."""

from __future__ import annotations

import pytest

from vaultkit.blindindex import plan, recommend
from vaultkit.errors import PolicyError, VaultkitTypeError

U = None  # unbounded input domain (CipherSweet's PHP_INT_MAX)


@pytest.mark.parametrize(
    ("rows", "existing", "input_bits", "expected"),
    [
        # ciphersweet.paragonie.com "Blind Index Planning": 50,000 rows
        (50_000, [(4, 16)], U, (4, 11)),
        (50_000, [], U, (8, 15)),
        # paragonie/ciphersweet tests/Planner/FieldIndexPlannerTest.php::testRecommend
        (1 << 16, [(4, U), (4, U)], U, (1, 7)),
        (1 << 16, [(4, U), (4, U)], 15, (1, 7)),
        (1 << 16, [(4, U), (4, U)], 8, (1, 7)),
        (1 << 31, [(4, U), (4, U)], U, (8, 22)),
        (1 << 16, [], U, (8, 15)),
        (1 << 16, [], 14, (8, 14)),
        (1 << 8, [], U, (4, 7)),
        (1 << 8, [], 7, (4, 7)),
        (1 << 31, [], U, (16, 30)),
        (1 << 31, [], 29, (16, 29)),
        (1 << 31, [], 24, (16, 24)),
        (1 << 31, [], 8, (1, 8)),  # a very-low-entropy input
    ],
)
def test_ciphersweet_examples(
    rows: int,
    existing: list[tuple[int, int | None]],
    input_bits: int | None,
    expected: tuple[int, int],
) -> None:
    assert recommend(rows=rows, existing=existing, input_bits=input_bits) == expected


@pytest.mark.parametrize("rows", [2**8, 50_000, 2**16, 10**6, 10**8, 2**31])
def test_plan_picks_a_safe_length(rows: int) -> None:
    p = plan(rows=rows)
    assert p.min_bits <= p.bits <= p.max_bits
    assert 2 <= rows / 2**p.bits <= rows**0.5
    assert p.coincidences == rows / 2**p.bits


def test_plan_checks_a_length() -> None:
    assert plan(12, rows=50_000).bits == 12
    for bits in (7, 15, 20, 64):  # 15: R/2^L = 1.5 < 2, inside CipherSweet's range but unsafe
        with pytest.raises(PolicyError, match=r"safe lengths are 8\.\.14 bits"):
            plan(bits, rows=50_000)


def test_plan_refuses_when_nothing_is_safe() -> None:
    with pytest.raises(PolicyError, match="compound"):
        plan(rows=1 << 31, input_bits=8)
    with pytest.raises(PolicyError):
        plan(8, rows=1 << 31, input_bits=8)


def test_plan_arguments() -> None:
    with pytest.raises(VaultkitTypeError):
        plan(rows=0)
    with pytest.raises(VaultkitTypeError):
        plan(0, rows=100)
    with pytest.raises(VaultkitTypeError):
        plan(rows=100, existing=[(4, 0)])
