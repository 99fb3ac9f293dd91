"""Validators and normalizers: accepted forms, refused forms (rule named, value masked) and
check-digit invariants."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultkit.errors import InputFormatError, VaultkitTypeError
from vaultkit.identifiers import (
    USCC_ALPHABET,
    cn_id_check_char,
    is_cn_id,
    luhn_check_digit,
    luhn_residue,
    luhn_valid,
    normalize_card,
    normalize_cn_id,
    normalize_mobile,
    normalize_uscc,
    parse_cn_id,
    upgrade_legacy_cn_id,
    uscc_check_char,
)

SAMPLE_ID = "11010519491231002X"


def _refused(fn, value: str, rule: str) -> None:
    with pytest.raises(InputFormatError, match=rule) as info:
        fn(value)
    if value:
        assert value not in str(info.value), "the raw value must never be echoed"


# --- cards ------------------------------------------------------------------------------------


def test_card_normalization() -> None:
    assert normalize_card("6222 0212 3456 7890 128") == "6222021234567890128"
    assert normalize_card("4111-1111-1111-1111") == "4111111111111111"
    assert normalize_card("４１１１１１１１１１１１１１１１") == "4111111111111111"
    assert normalize_card(" 4111111111111111\n") == "4111111111111111"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("4111111111111112", "Luhn check failed"),
        ("4111x11111111111", "must be digits"),
        ("41111111111", "12-19 digits"),
        ("41111111111111111111", "12-19 digits"),
        ("٤١١١١١١١١١١١١١١١", "must be digits"),  # Arabic-Indic digits are not accepted
        ("", "must be digits"),
    ],
)
def test_card_refused(value: str, rule: str) -> None:
    _refused(normalize_card, value, rule)


def test_card_type_checked() -> None:
    with pytest.raises(VaultkitTypeError):
        normalize_card(4111111111111111)  # type: ignore[arg-type]


@given(st.text(alphabet="0123456789", min_size=11, max_size=18))
def test_luhn_check_digit_completes(payload: str) -> None:
    number = payload + luhn_check_digit(payload)
    assert luhn_valid(number)
    assert normalize_card(number) == number
    # any single-digit change breaks it (Luhn detects all single-digit errors)
    i = len(payload) // 2
    changed = payload[:i] + str((int(payload[i]) + 1) % 10) + payload[i + 1 :]
    assert not luhn_valid(changed + number[-1])


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_luhn_residue_matches_textbook(digits: str) -> None:
    total = 0
    for j, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if j % 2 else 1)
        total += d // 10 + d % 10
    assert luhn_residue(digits) == total % 10


# --- resident ID ------------------------------------------------------------------------------


def test_cn_id_normalization() -> None:
    assert normalize_cn_id("11010519491231002x") == SAMPLE_ID
    assert normalize_cn_id(" １１０１０５１９４９１２３１００２ｘ ") == SAMPLE_ID
    rid = parse_cn_id(SAMPLE_ID)
    assert rid.address == "110105"
    assert rid.birth_date == datetime.date(1949, 12, 31)
    assert rid.sequence == 2 and not rid.is_male and rid.check == "X"
    assert SAMPLE_ID not in repr(rid) and "1949" not in repr(rid)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("110105194912310021", "bad check character"),
        ("110105194902300021", "impossible birth date"),  # 30 February
        ("110105190002290028", "impossible birth date"),  # 1900 is not a leap year
        ("1101051949123100", "18 characters"),
        ("11010519491231002Y", "17 digits and a digit or X"),
        ("1101051949123100XX", "17 digits and a digit or X"),
        ("110105491231002", "15-digit legacy"),
    ],
)
def test_cn_id_refused(value: str, rule: str) -> None:
    _refused(normalize_cn_id, value, rule)


def test_cn_id_leap_day_accepted() -> None:
    body = "11010520000229002"
    assert is_cn_id(body + cn_id_check_char(body))


def test_legacy_upgrade() -> None:
    assert upgrade_legacy_cn_id("110105491231002") == SAMPLE_ID
    _refused(upgrade_legacy_cn_id, "110105490230002", "impossible birth date")
    _refused(upgrade_legacy_cn_id, "11010549123100", "15 digits")


@given(
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.dates(datetime.date(1800, 1, 1), datetime.date(2099, 12, 31)),
    st.integers(0, 999),
)
def test_cn_id_check_char_is_iso7064_mod11_2(addr: str, day: datetime.date, seq: int) -> None:
    body = f"{addr}{day:%Y%m%d}{seq:03d}"
    check = cn_id_check_char(body)
    # ISO 7064 MOD 11-2: sum(a_i * 2^(18-i)) over all 18 characters (X = 10) is 1 mod 11
    values = [int(c) for c in body] + [10 if check == "X" else int(check)]
    assert sum(v * pow(2, 17 - i, 11) for i, v in enumerate(values)) % 11 == 1
    assert normalize_cn_id(body + check) == body + check


# --- USCC ---------------------------------------------------------------------------------------


def test_uscc_normalization() -> None:
    assert normalize_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("91350100M000100Y42", "bad check character"),
        ("91350100M000I00Y43", "outside the GB 32100 alphabet"),
        ("91350100M000100Y4", "18 characters"),
    ],
)
def test_uscc_refused(value: str, rule: str) -> None:
    _refused(normalize_uscc, value, rule)


def test_uscc_org_code_checked_on_request() -> None:
    body = "91350100M000100Y5"  # organisation code check character should be 4
    code = body + uscc_check_char(body)
    assert normalize_uscc(code) == code
    with pytest.raises(InputFormatError, match="GB 11714"):
        normalize_uscc(code, check_org_code=True)


@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_uscc_check_char(body: str) -> None:
    check = uscc_check_char(body)
    values = [USCC_ALPHABET.index(c) for c in body + check]
    weights = [pow(3, i, 31) for i in range(17)]
    assert (sum(v * w for v, w in zip(values, weights)) + values[17]) % 31 == 0
    assert normalize_uscc(body + check) == body + check


# --- mobile -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "008613800138000",
        "8613800138000",
        "１３８００１３８０００",
    ],
)
def test_mobile_normalization(value: str) -> None:
    assert normalize_mobile(value) == "13800138000"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("12345678901", "start with 13-19"),
        ("1380013800", "11 digits"),
        ("1380013800a", "11 digits"),
    ],
)
def test_mobile_refused(value: str, rule: str) -> None:
    _refused(normalize_mobile, value, rule)
