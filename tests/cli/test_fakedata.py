from __future__ import annotations

from vaultkit.cli import _fakedata

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def test_deterministic_given_seed() -> None:
    assert _fakedata.customers(50, seed=3) == _fakedata.customers(50, seed=3)
    assert _fakedata.customers(50, seed=3) != _fakedata.customers(50, seed=4)
    assert _fakedata.merchants(20, seed=1) == _fakedata.merchants(20, seed=1)


def test_identifiers_are_valid_format() -> None:
    for c in _fakedata.customers(500, seed=11):
        assert len(c.id_no) == 18
        s = sum(int(a) * w for a, w in zip(c.id_no[:17], ID_WEIGHTS))
        assert "10X98765432"[s % 11] == c.id_no[17]
        assert c.card_no.startswith("62") and len(c.card_no) in (16, 19)
        assert luhn_ok(c.card_no)
        assert len(c.mobile) == 11 and c.mobile[0] == "1"
        assert "@" in c.email
        assert 2 <= len(c.name) <= 4


def test_uscc_check_character() -> None:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    for m in _fakedata.merchants(200, seed=5):
        s = sum(alphabet.index(a) * w for a, w in zip(m.uscc[:17], weights))
        assert alphabet[(31 - s % 31) % 31] == m.uscc[17]
