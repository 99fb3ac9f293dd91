"""Levels, kinds and default protections (JR/T 0171-2020); C3 is never reversible."""

from __future__ import annotations

import pytest

from vaultkit.errors import PolicyError, VaultkitTypeError
from vaultkit.masking import CardMask, mask
from vaultkit.policy import Kind, Level, Policy, Protection, default_protections

C3_KINDS = [Kind.PASSWORD, Kind.PIN, Kind.CVN2, Kind.CARD_EXPIRY, Kind.TRACK_DATA, Kind.BIOMETRIC]


def test_categories_are_the_pboc_ones() -> None:
    categories = {k.category for k in Kind}
    assert {c.value for c in categories} == {
        "identity",
        "property",
        "account",
        "credit",
        "transaction",
        "derived",
        "authentication",
    }
    assert Kind.CARD_NO.category is Kind.ACCOUNT
    assert Kind.CN_ID.category is Kind.IDENTITY
    assert Kind.BALANCE.category is Kind.PROPERTY
    assert Kind.CVN2.category is Kind.AUTHENTICATION


@pytest.mark.parametrize(
    ("kind", "level"),
    [
        (Kind.CARD_NO, Level.C2),
        (Kind.ACCOUNT_NO, Level.C2),
        (Kind.CN_ID, Level.C2),
        (Kind.MOBILE, Level.C2),
        (Kind.ADDRESS, Level.C2),
        (Kind.BALANCE, Level.C2),
        (Kind.TRANSACTION_RECORD, Level.C2),
        (Kind.CREDIT_RECORD, Level.C2),
        (Kind.ACCOUNT_OPENED, Level.C1),
        (Kind.PAYMENT_TOKEN, Level.C1),
        *[(k, Level.C3) for k in C3_KINDS],
    ],
)
def test_default_levels(kind: Kind, level: Level) -> None:
    assert kind.default_level is level
    assert Policy(kind).level is level


def test_default_protections() -> None:
    P = Protection
    assert Policy(Kind.CARD_NO).protections == {P.ENCRYPT, P.TOKEN, P.BLIND_INDEX, P.MASK}
    assert Policy(Kind.CN_ID).protections == {P.ENCRYPT, P.TOKEN, P.BLIND_INDEX, P.MASK}
    assert Policy(Kind.ADDRESS).protections == {P.ENCRYPT, P.MASK}
    assert Policy(Kind.BALANCE).protections == {P.ENCRYPT, P.MASK}
    assert Policy(Kind.ACCOUNT_OPENED).protections == frozenset()
    for kind in C3_KINDS:
        assert Policy(kind).protections == {P.VERIFIER}
    assert default_protections(Kind.MOBILE, Level.C3) == {P.VERIFIER}


@pytest.mark.parametrize("kind", C3_KINDS)
@pytest.mark.parametrize("protection", ["encrypt", "token", "blind_index", "mask"])
def test_c3_never_reversible(kind: Kind, protection: str) -> None:
    policy = Policy(kind)
    with pytest.raises(PolicyError, match="C3"):
        policy.require(protection)
    with pytest.raises(PolicyError, match="C3"):
        Policy(kind, protections={Protection(protection)})
    policy.require(Protection.VERIFIER)


def test_c3_level_cannot_be_lowered_but_others_can_be_raised() -> None:
    with pytest.raises(PolicyError, match="authentication data"):
        Policy(Kind.PIN, level=Level.C2)
    raised = Policy(Kind.MOBILE, level="C3")
    assert raised.level is Level.C3 and raised.protections == {Protection.VERIFIER}
    with pytest.raises(PolicyError):
        raised.require(Protection.ENCRYPT)
    assert Policy(Kind.NAME, level=Level.C1).protections == frozenset()


def test_policy_details() -> None:
    p = Policy("card_no")
    assert p.kind is Kind.CARD_NO and p.token_format == "card_no" and p.index_kind == "card_no"
    assert p.display("6222021234561234") == "622202******1234"
    assert mask("card_no", "6222021234561234", policy=p) == "622202******1234"
    custom = Policy(Kind.CARD_NO, mask_rule=CardMask(keep_prefix=0))
    assert custom.display("6222021234561234") == "************1234"
    assert Policy(Kind.BALANCE).display("1234.56") == "****"
    assert Policy(Kind.ADDRESS).token_format is None and Policy(Kind.ADDRESS).index_kind == "text"
    with pytest.raises(PolicyError):
        Policy(Kind.ACCOUNT_OPENED).display("2020-01-01")
    assert hash(p) == hash(Policy(Kind.CARD_NO))  # hashable: usable as a cache key
    assert str(Kind.CARD_NO) == "card_no" and Kind.CARD_NO == "card_no"


def test_bad_arguments() -> None:
    with pytest.raises(VaultkitTypeError, match="unknown kind"):
        Policy("iban")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError, match="unknown level"):
        Policy(Kind.CARD_NO, level="C4")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        Policy(Kind.CARD_NO, protections="encrypt")  # type: ignore[arg-type]


def test_unknown_kind_names_the_closest() -> None:
    with pytest.raises(VaultkitTypeError, match="unknown kind 'phone'; did you mean 'mobile'"):
        Policy("phone")
    assert Policy("card").kind is Kind.CARD_NO  # the registry's alias
