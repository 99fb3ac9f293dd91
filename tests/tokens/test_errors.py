"""Bad input is refused, naming the rule and never echoing the raw value."""

from __future__ import annotations

import pytest

from tests.tokens.token_keys import CTX, SM4_KEY
from vaultkit.errors import (
    DomainTooSmallError,
    InputFormatError,
    UnsupportedAlgorithmError,
    VaultkitTypeError,
)
from vaultkit.tokens import AlphabetFormat, CardFormat, MobileFormat, Tokenizer, UsccFormat


def _refused(tok: Tokenizer, value: str, fmt: object, rule: str, *, detok: bool = False) -> None:
    call = tok.detokenize if detok else tok.tokenize
    with pytest.raises(InputFormatError, match=rule) as info:
        call(SM4_KEY, value, format=fmt, context=CTX)  # type: ignore[arg-type]
    assert value not in str(info.value)
    assert info.value.masked_value is not None and value not in info.value.masked_value


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("6222021234567890127", "Luhn check failed"),
        ("62220212345678901x8", "must be digits"),
        ("62220212345", "12-19 digits"),
        ("62220212345678901281", "12-19 digits"),
    ],
)
def test_card_refused(tok: Tokenizer, value: str, rule: str) -> None:
    _refused(tok, value, "card", rule)
    # the same in a batch, after good values
    with pytest.raises(InputFormatError, match=rule):
        tok.tokenize_many(SM4_KEY, ["4111111111111111", value], format="card", context=CTX)


def test_card_token_of_other_luhn_mode_refused(tok: Tokenizer) -> None:
    _refused(tok, "6222021234567890127", CardFormat(luhn="invalid"), "not a token", detok=True)
    _refused(tok, "6222021234567890127", "card", "not a token", detok=True)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("110105194912310021", "bad check character"),
        ("110105194902300021", "impossible birth date"),
        ("440524188001010014", "outside the token domain"),  # a real 1880 date
        ("110105491231002", "15-digit legacy"),
        ("1101051949123100", "18 characters"),
        ("11010519491231002Y", "17 digits and a digit or X"),
    ],
)
def test_cn_id_refused(tok: Tokenizer, value: str, rule: str) -> None:
    _refused(tok, value, "cn_id", rule)
    with pytest.raises(InputFormatError, match=rule):
        tok.tokenize_many(SM4_KEY, ["11010519491231002X", value], format="cn_id", context=CTX)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("12800138000", "start with 13-19"),
        ("1380013800", "11 digits"),
        ("138001380ab", "11 digits"),
    ],
)
def test_mobile_refused(tok: Tokenizer, value: str, rule: str) -> None:
    _refused(tok, value, "mobile", rule)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("91350100M000100Y42", "bad check character"),
        ("91350100M000I00Y43", "outside the GB 32100 alphabet"),
        ("91350100M0001005Y2", "GB 11714"),
    ],
)
def test_uscc_refused(tok: Tokenizer, value: str, rule: str) -> None:
    if rule == "GB 11714":
        from vaultkit.identifiers import uscc_check_char

        value = value[:17] + uscc_check_char(value[:17])
    _refused(tok, value, "uscc", rule)


def test_alphabet_refused(tok: Tokenizer) -> None:
    _refused(tok, "12345a789", "digits", "outside the format's alphabet")


@pytest.mark.parametrize(
    ("fmt", "value", "fix"),
    [
        (CardFormat(), "411111111111111", r"keep_prefix=5, keep_suffix=4"),  # 15 digits
        (CardFormat(keep_prefix=8), "4111111111111111", r"keep_prefix=6, keep_suffix=4"),
        (CardFormat(), "411111111116", r"keep_prefix=2, keep_suffix=4"),  # 12 digits
        ("digits", "12345", "at least 6 characters"),
        (AlphabetFormat(alphabet="01"), "0101010101", "at least 20 characters"),
    ],
)
def test_domain_too_small(tok: Tokenizer, fmt: object, value: str, fix: str) -> None:
    from vaultkit.identifiers import luhn_check_digit

    if isinstance(fmt, CardFormat):
        value = value[:-1] + luhn_check_digit(value[:-1])
    with pytest.raises(DomainTooSmallError, match=fix) as info:
        tok.tokenize(SM4_KEY, value, format=fmt, context=CTX)  # type: ignore[arg-type]
    assert value not in str(info.value)
    assert "1,000,000" in str(info.value) or "10^6" in str(info.value)


def test_format_options_refused() -> None:
    with pytest.raises(DomainTooSmallError):
        MobileFormat(keep_prefix=6)
    with pytest.raises(VaultkitTypeError):
        CardFormat(keep_prefix=-1)
    with pytest.raises(VaultkitTypeError):
        CardFormat(luhn="maybe")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        UsccFormat(keep_prefix=10)
    with pytest.raises(VaultkitTypeError):
        AlphabetFormat(alphabet="aa")


def test_bad_arguments(tok: Tokenizer) -> None:
    with pytest.raises(UnsupportedAlgorithmError, match="unknown token format"):
        tok.tokenize(SM4_KEY, "4111111111111111", format="iban", context=CTX)
    with pytest.raises(UnsupportedAlgorithmError, match="FF1"):
        tok.tokenize("tokens.hmac", "4111111111111111", format="card", context=CTX)
    with pytest.raises(VaultkitTypeError):
        tok.tokenize_many(SM4_KEY, "4111111111111111", format="card", context=CTX)
    with pytest.raises(VaultkitTypeError):
        tok.tokenize(SM4_KEY, 4111111111111111, format="card", context=CTX)  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        tok.tokenize(SM4_KEY, "4111111111111111", format="card", context=["x"])  # type: ignore[arg-type]
