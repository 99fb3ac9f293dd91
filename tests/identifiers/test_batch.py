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


def _in_normal_form(normalize, value: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        return bool(normalize(value) == value)
    except ValueError:
        return False


def test_normal_form_proofs_agree_with_the_normalizers() -> None:
    """The whole-batch checks (used by the token and blind-index fast paths) accept a batch
    only when every value is already what its normalizer returns."""
    from vaultkit.identifiers import normalize_card, normalize_mobile
    from vaultkit.identifiers._batch import card_rows, cn_id_rows, digit_rows, mobile_rows
    from vaultkit.identifiers._free import normalize_account

    def id_shape(value: str) -> str:  # cn_id_rows proves the shape; the check char is separate
        ok = len(value) == 18 and value[:17].isdigit() and value[17] in "0123456789X"
        if not ok:
            raise ValueError
        return value

    cases = [
        (card_rows, normalize_card, ["6222021234567890128", "6228480012345678903"]),
        (mobile_rows, normalize_mobile, ["13812345678", "15900001111"]),
        (cn_id_rows, id_shape, ["11010519491231002X", "110105198001010015"]),
        (digit_rows, normalize_account, ["0123", "4567890"]),
    ]
    for check, normalize, good in cases:
        seps = (b"\x00", b" ") if check is digit_rows else (b"\x00", b" ", b"")
        assert all(_in_normal_form(normalize, v) for v in good)
        for sep in seps:
            assert check(sep.join(v.encode() for v in good), good, sep)
        changed = good[1][:-1] + ("0" if good[1][-1] != "0" else "1")
        for values in (
            [good[0], changed],
            [good[0], ""],
            [good[0], good[0][:-2] + "\x001"],
            [good[0], " " + good[1]],
            [good[0], good[1].lower() + "x"],
        ):
            raw = b"\x00".join(v.encode() for v in values)
            if check(raw, values, b"\x00"):
                assert all(_in_normal_form(normalize, v) for v in values), (check, values)
