"""Principals' grants and bearer tokens in the key ring: authenticated by the store's MAC,
surviving KEK rotation, absent from (and harmless to) stores that never had one."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.access.conftest import kms
from vaultkit.access import Grant
from vaultkit.errors import (
    InputFormatError,
    KeyStoreError,
    UnknownKindError,
    VaultkitTypeError,
)
from vaultkit.keys import KeyRing


def _body(path: Path) -> dict:
    return json.loads(path.read_text())["body"]


def test_a_ring_without_grants_has_no_grant_fields(ring: KeyRing, ring_path: Path) -> None:
    assert ring.grants() == []
    assert not ring.access_controlled
    body = _body(ring_path)
    assert "grants" not in body and "tokens" not in body and "access_control" not in body


def test_grant_is_stored_and_read_by_another_opener(ring: KeyRing, ring_path: Path) -> None:
    g = ring.grant(
        "teller-app",
        keys="customers.*",
        operations={"decrypt", "detokenize"},
        max_per_minute=100,
        expires=dt.date(2099, 1, 1),
    )
    assert g == Grant(
        "teller-app",
        "customers.*",
        frozenset({"decrypt", "detokenize"}),
        100,
        dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc),
    )
    with KeyRing.open(ring_path, kms()) as other:
        assert other.grants() == [g]
        assert other.access_controlled
    assert g.matches("customers.id_no") and not g.matches("accounts.card_no")


def test_granting_the_same_pattern_again_replaces_it(ring: KeyRing) -> None:
    ring.grant("teller-app", keys="customers.*", operations={"decrypt"})
    ring.grant("teller-app", keys="accounts.*", operations={"encrypt"})
    ring.grant("teller-app", keys="customers.*", operations={"reveal_masked"})
    assert [(g.keys, g.operations) for g in ring.grants("teller-app")] == [
        ("accounts.*", frozenset({"encrypt"})),
        ("customers.*", frozenset({"reveal_masked"})),
    ]


def test_revoke_operations_pattern_or_everything(ring: KeyRing) -> None:
    ring.grant("a", keys="customers.*", operations={"decrypt", "detokenize"})
    ring.grant("a", keys="accounts.*", operations={"decrypt"})
    ring.grant("b", keys="*", operations={"encrypt"})
    assert ring.revoke("a", keys="customers.*", operations={"decrypt"}) == 1
    assert {(g.principal, g.keys, g.operations) for g in ring.grants()} == {
        ("a", "customers.*", frozenset({"detokenize"})),
        ("a", "accounts.*", frozenset({"decrypt"})),
        ("b", "*", frozenset({"encrypt"})),
    }
    assert ring.revoke("a") == 2
    assert [g.principal for g in ring.grants()] == ["b"]
    assert ring.revoke("b", operations="encrypt") == 1
    assert ring.grants() == []
    # a ring that had grants stays access-controlled: it never falls back to open access
    assert ring.access_controlled


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("", "*", {"decrypt"}), InputFormatError),
        (("has space", "*", {"decrypt"}), InputFormatError),
        ((7, "*", {"decrypt"}), VaultkitTypeError),
        (("a", "*", {"steal"}), UnknownKindError),
        (("a", "*", set()), InputFormatError),
        (("a", "with space", {"decrypt"}), InputFormatError),
    ],
)
def test_bad_grants_are_refused_with_typed_errors(ring: KeyRing, args: tuple, error: type) -> None:
    with pytest.raises(error):
        ring.grant(*args)
    assert ring.grants() == []


def test_bad_limits_and_naive_expiry_are_refused(ring: KeyRing) -> None:
    with pytest.raises(InputFormatError):
        ring.grant("a", "*", {"decrypt"}, max_per_minute=0)
    with pytest.raises(VaultkitTypeError):
        ring.grant("a", "*", {"decrypt"}, max_per_minute=True)
    with pytest.raises(InputFormatError):
        ring.grant("a", "*", {"decrypt"}, expires=dt.datetime(2099, 1, 1))  # naive
    assert ring.grants() == []


def _tamper(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    outer = json.loads(path.read_text())
    change(outer["body"])
    path.write_text(json.dumps(outer, indent=1, sort_keys=True))


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b["grants"][0]["operations"].append("decrypt"),
        lambda b: b["grants"][0].update(keys="*"),
        lambda b: b["grants"].append(dict(b["grants"][0], principal="mallory")),
        lambda b: b.pop("grants"),
        lambda b: b.update(access_control=False),
        lambda b: b["grants"][0].update(expires=None),
        lambda b: b["tokens"].append({"principal": "mallory", "sm3": "00" * 32, "created": ""}),
    ],
)
def test_a_tampered_grant_or_token_list_makes_the_ring_refuse_to_open(
    ring: KeyRing, ring_path: Path, change
) -> None:  # type: ignore[no-untyped-def]
    ring.grant("teller-app", "customers.*", {"reveal_masked"}, expires=dt.date(2099, 1, 1))
    ring.issue_token("teller-app")
    _tamper(ring_path, change)
    with pytest.raises(KeyStoreError, match="damaged or altered"):
        KeyRing.open(ring_path, kms())
    # a ring already open notices the change on its next read and refuses it too
    with pytest.raises(KeyStoreError, match="damaged or altered"):
        ring.grants()


def test_grants_and_tokens_survive_kek_rotation_add_and_removal(ring_path: Path) -> None:
    with KeyRing.open(ring_path, kms()) as ring:
        ring.grant("teller-app", "customers.*", {"reveal_masked"}, max_per_minute=5)
        token = ring.issue_token("teller-app")
        before = ring.grants()
        epoch = _body(ring_path)["epoch"]
        ring.rotate_kek()
        ring.add_kek(kms("second passphrase"), name="second")
        assert _body(ring_path)["epoch"] == epoch + 1
    with KeyRing.open(ring_path, kms("second passphrase")) as second:
        second.remove_kek("passphrase")
        assert second.grants() == before
        assert second.principal_for_token(token) == "teller-app"
    assert _body(ring_path)["epoch"] == epoch + 2


def test_tokens_are_stored_only_as_their_hash(ring: KeyRing, ring_path: Path) -> None:
    token = ring.issue_token("svc-batch")
    other = ring.issue_token("svc-batch")
    assert token != other and token.startswith("vkt_") and len(token) >= 4 + 43
    text = ring_path.read_text()
    assert token not in text and token[4:] not in text
    assert ring.principal_for_token(token) == "svc-batch"
    assert ring.principal_for_token(other) == "svc-batch"
    assert ring.principal_for_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert ring.principal_for_token("") is None
    assert ring.principal_for_token(None) is None  # type: ignore[arg-type]
    with KeyRing.open(ring_path, kms()) as again:
        assert again.principal_for_token(token) == "svc-batch"
    assert ring.revoke_tokens("svc-batch") == 2
    assert ring.principal_for_token(token) is None
    assert "svc-batch" not in ring_path.read_text()


def test_tokens_do_not_make_a_ring_access_controlled(ring: KeyRing) -> None:
    ring.issue_token("svc")
    assert not ring.access_controlled
