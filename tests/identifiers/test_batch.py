"""The column-wise batch Luhn agrees with the textbook one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vaultkit.identifiers import luhn_residue
from vaultkit.identifiers._batch import residues, solve

rows = st.integers(12, 19).flatmap(
    lambda n: st.lists(st.text("0123456789", min_size=n, max_size=n), min_size=1, max_size=20)
)


@given(rows)
def test_residues(numbers: list[str]) -> None:
    n = len(numbers[0])
    buf = "".join(numbers).encode()
    assert list(residues(buf, n)) == [luhn_residue(v) for v in numbers]


@given(rows, st.integers(0, 11), st.integers(0, 9))
def test_solve(numbers: list[str], pos: int, target: int) -> None:
    n = len(numbers[0])
    buf = bytearray("".join(numbers).encode())
    solve(buf, n, pos, target)
    out = [buf[i : i + n].decode() for i in range(0, len(buf), n)]
    for before, after in zip(numbers, out):
        assert luhn_residue(after) == target
        # only the digit at `pos` from the right may change
        k = n - 1 - pos
        assert before[:k] == after[:k] and before[k + 1 :] == after[k + 1 :]


@given(st.lists(st.text("0123456789", min_size=6, max_size=6), min_size=1), st.integers(0, 5))
def test_residues_of_a_middle(middles: list[str], first: int) -> None:
    buf = "".join(middles).encode()
    # the middle's contribution = Luhn of the middle followed by `first` zeros
    assert list(residues(buf, 6, first=first)) == [luhn_residue(m + "0" * first) for m in middles]
