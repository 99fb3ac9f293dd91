"""A Vault under a principal: every operation (single and batch) checked against the ring's
grants, refusals raised as AccessDeniedError and recorded in the audit trail as ``denied``,
failures recorded as ``error``; a ring without grants behaves as before."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.access.conftest import kms
from vaultkit import Vault
from vaultkit.audit import Trail, read, verify
from vaultkit.errors import (
    AccessDeniedError,
    DecryptionError,
    KeyNotFoundError,
    VaultkitError,
)
from vaultkit.keys import KeyRing

CTX = {"table": "customers", "column": "id_no", "row": "42"}
ID_NO = "11010519491231002X"
CARD = "6222021234567890128"


def _fixtures(ring_path: Path) -> dict[str, Any]:
    """Ciphertexts and tokens made by an unrestricted Vault before any grant exists."""
    with KeyRing.open(ring_path, kms()) as ring, Vault(ring) as v:
        return {
            "ct": v.encrypt("customers.id_no", ID_NO, context=CTX),
            "ct_acct": v.encrypt("accounts.card_no", CARD, context=CTX),
            "token": v.tokenize("customers.card_token", CARD, format="card_no", context=CTX),
        }


# every Vault method that uses a key: (grant operation, key, audit operation, call)
Call = Callable[[Vault, dict[str, Any]], object]
CALLS: dict[str, tuple[str, str, str, Call]] = {
    "encrypt": (
        "encrypt",
        "customers.id_no",
        "encrypt",
        lambda v, f: v.encrypt("customers.id_no", ID_NO, context=CTX),
    ),
    "encrypt_text": (
        "encrypt",
        "customers.id_no",
        "encrypt",
        lambda v, f: v.encrypt_text("customers.id_no", ID_NO, context=CTX),
    ),
    "encrypt_many": (
        "encrypt",
        "customers.id_no",
        "encrypt",
        lambda v, f: v.encrypt_many("customers.id_no", [ID_NO, ID_NO], context=CTX),
    ),
    "encrypt_text_many": (
        "encrypt",
        "customers.id_no",
        "encrypt",
        lambda v, f: v.encrypt_text_many("customers.id_no", [ID_NO], context=CTX),
    ),
    "decrypt": (
        "decrypt",
        "customers.id_no",
        "decrypt",
        lambda v, f: v.decrypt(f["ct"], context=CTX),
    ),
    "decrypt_text": (
        "decrypt",
        "customers.id_no",
        "decrypt",
        lambda v, f: v.decrypt_text(f["ct"], context=CTX),
    ),
    "decrypt_many": (
        "decrypt",
        "customers.id_no",
        "decrypt",
        lambda v, f: v.decrypt_many([f["ct"], f["ct"]], context=CTX),
    ),
    "decrypt_text_many": (
        "decrypt",
        "customers.id_no",
        "decrypt",
        lambda v, f: v.decrypt_text_many([f["ct"]], context=CTX),
    ),
    "tokenize": (
        "tokenize",
        "customers.card_token",
        "tokenize",
        lambda v, f: v.tokenize("customers.card_token", CARD, format="card_no", context=CTX),
    ),
    "tokenize_many": (
        "tokenize",
        "customers.card_token",
        "tokenize",
        lambda v, f: v.tokenize_many("customers.card_token", [CARD], format="card_no", context=CTX),
    ),
    "detokenize": (
        "detokenize",
        "customers.card_token",
        "detokenize",
        lambda v, f: v.detokenize(
            "customers.card_token", f["token"], format="card_no", context=CTX
        ),
    ),
    "detokenize_many": (
        "detokenize",
        "customers.card_token",
        "detokenize",
        lambda v, f: v.detokenize_many(
            "customers.card_token", [f["token"]], format="card_no", context=CTX
        ),
    ),
    "blind_index": (
        "search",
        "customers.name_bidx",
        "blind_index",
        lambda v, f: v.blind_index("customers.name_bidx", ID_NO, context=CTX, bits=16),
    ),
    "blind_index_many": (
        "search",
        "customers.name_bidx",
        "blind_index",
        lambda v, f: v.blind_index_many("customers.name_bidx", [ID_NO], context=CTX, bits=16),
    ),
    "blind_index_candidates": (
        "search",
        "customers.name_bidx",
        "blind_index",
        lambda v, f: v.blind_index_candidates("customers.name_bidx", ID_NO, context=CTX, bits=16),
    ),
    "retired_index_candidates": (
        "search",
        "customers.name_bidx",
        "blind_index",
        lambda v, f: v.retired_index_candidates("customers.name_bidx", ID_NO, context=CTX, bits=16),
    ),
    "retired_token_candidates": (
        "tokenize",
        "customers.card_token",
        "tokenize",
        lambda v, f: v.retired_token_candidates(
            "customers.card_token", [CARD], format="card_no", context=CTX
        ),
    ),
    "decrypt_masked": (
        "reveal_masked",
        "customers.id_no",
        "decrypt_masked",
        lambda v, f: v.decrypt_masked(f["ct"], context=CTX, kind="cn_id"),
    ),
    "decrypt_masked_many": (
        "reveal_masked",
        "customers.id_no",
        "decrypt_masked",
        lambda v, f: v.decrypt_masked_many([f["ct"]], context=CTX, kind="cn_id"),
    ),
    "detokenize_masked": (
        "reveal_masked",
        "customers.card_token",
        "detokenize_masked",
        lambda v, f: v.detokenize_masked(
            "customers.card_token", f["token"], format="card_no", context=CTX
        ),
    ),
    "detokenize_masked_many": (
        "reveal_masked",
        "customers.card_token",
        "detokenize_masked",
        lambda v, f: v.detokenize_masked_many(
            "customers.card_token", [f["token"]], format="card_no", context=CTX
        ),
    ),
}


def test_calls_cover_every_public_vault_method() -> None:
    import inspect

    public = {
        n for n, fn in vars(Vault).items() if not n.startswith("_") and inspect.isfunction(fn)
    }
    assert public == set(CALLS) | {"close"}


@pytest.fixture
def trail_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


def _records(path: Path) -> list[Any]:
    return list(read(path))


@pytest.mark.parametrize("method", sorted(CALLS))
def test_each_operation_is_allowed_by_its_grant_and_denied_without_it(
    ring_path: Path, trail_path: Path, method: str
) -> None:
    op, key, audit_op, call = CALLS[method]
    fixtures = _fixtures(ring_path)
    with KeyRing.open(ring_path, kms()) as ring:
        # every operation but this one, on every key; and this one on other keys only
        others = {"encrypt", "decrypt", "tokenize", "detokenize", "search", "reveal_masked"}
        others -= {op}
        if op == "reveal_masked":  # decrypt and detokenize also allow the masked reads
            others -= {"decrypt", "detokenize"}
        ring.grant("app", keys="*", operations=others)
        ring.grant("app", keys="accounts.*", operations={op})
        trail = Trail.open(trail_path, ring)
        with Vault(ring, principal="app", audit=trail) as v:
            with pytest.raises(AccessDeniedError) as info:
                call(v, fixtures)
        err = info.value
        assert isinstance(err, PermissionError) and isinstance(err, VaultkitError)
        assert (err.principal, err.operation, err.key) == ("app", op, key)
        assert "'app'" in str(err) and op in str(err) and key in str(err)
        assert ID_NO not in str(err) and CARD not in str(err)
        assert err.__context__ is None and err.__cause__ is None
        denied = _records(trail_path)[-1]
        assert (denied.operation, denied.key, denied.outcome, denied.principal) == (
            audit_op,
            key,
            "denied",
            "app",
        )
        # the grant on exactly this pattern allows it, and the record says ok
        ring.grant("app", keys=key.split(".")[0] + ".*", operations={op})
        with Vault(ring, principal="app", audit=trail) as v:
            call(v, fixtures)
        ok = _records(trail_path)[-1]
        assert (ok.operation, ok.key, ok.outcome, ok.principal) == (audit_op, key, "ok", "app")
        trail.close()
        assert verify(trail_path, ring).ok


@pytest.mark.parametrize(
    ("pattern", "allowed"),
    [
        ("*", {"customers.id_no", "customers.phone", "accounts.card_no"}),
        ("customers.*", {"customers.id_no", "customers.phone"}),
        ("customers.id_no", {"customers.id_no"}),
        ("*.card_no", {"accounts.card_no"}),
        ("customers.[ip]*", {"customers.id_no", "customers.phone"}),
        ("Customers.*", set()),  # case-sensitive, like key names
    ],
)
def test_key_patterns(ring: KeyRing, pattern: str, allowed: set[str]) -> None:
    ring.grant("app", keys=pattern, operations={"encrypt"})
    with Vault(ring, principal="app") as v:
        for key in ("customers.id_no", "customers.phone", "accounts.card_no"):
            if key in allowed:
                v.encrypt(key, "x", context=CTX)
            else:
                with pytest.raises(AccessDeniedError):
                    v.encrypt(key, "x", context=CTX)


def test_a_ring_without_grants_behaves_as_before(ring: KeyRing) -> None:
    with Vault(ring) as v, Vault(ring, principal="anyone") as named:
        ct = v.encrypt("customers.id_no", ID_NO, context=CTX)
        assert named.decrypt_text(ct, context=CTX) == ID_NO
        assert named.principal == "anyone" and v.principal is None


def test_a_ring_with_grants_refuses_a_vault_without_principal(ring: KeyRing) -> None:
    ring.grant("app", keys="*", operations={"decrypt"})
    with pytest.raises(AccessDeniedError, match="principal"):
        Vault(ring)
    ring.revoke("app")  # no grant left: still access-controlled, never open again
    with pytest.raises(AccessDeniedError):
        Vault(ring)
    with Vault(ring, principal="app") as v, pytest.raises(AccessDeniedError):
        v.encrypt("customers.id_no", ID_NO, context=CTX)


def test_grants_changed_by_another_process_are_noticed(ring_path: Path, tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    fixtures = _fixtures(ring_path)
    with KeyRing.open(ring_path, kms()) as ring:
        ring.grant("app", keys="customers.*", operations={"decrypt"})
        with Vault(ring, principal="app") as v:
            assert v.decrypt_text(fixtures["ct"], context=CTX) == ID_NO
            script = (
                "from vaultkit.keys import KeyRing, LocalKMS\n"
                f"r = KeyRing.open({str(ring_path)!r}, LocalKMS(passphrase='pw', scrypt_n=2**10))\n"
                "r.revoke('app', operations={'decrypt'})\n"
            )
            subprocess.run([sys.executable, "-c", script], check=True)
            # the Vault notices the changed store within its check interval (0.25 s); wait for
            # the change, not for a time: the call is refused once the store is re-read
            deadline = time.monotonic() + 30
            while True:
                try:
                    v.decrypt(fixtures["ct"], context=CTX)
                except AccessDeniedError:
                    break
                assert time.monotonic() < deadline, "the revoked grant was never noticed"
                time.sleep(0.05)


def test_errors_are_recorded_with_outcome_error(ring: KeyRing, trail_path: Path) -> None:
    ring.grant("app", keys="*", operations={"encrypt", "tokenize", "detokenize", "search"})
    trail = Trail.open(trail_path, ring)
    with Vault(ring, principal="app", audit=trail) as v:
        with pytest.raises(KeyNotFoundError):
            v.encrypt("customers.nope", "x", context=CTX)
        with pytest.raises(KeyNotFoundError):
            v.encrypt_many("customers.nope", ["x"], context=CTX)
        with pytest.raises(VaultkitError):
            v.tokenize("customers.card_token", "62220X", format="card_no", context=CTX)
        with pytest.raises(VaultkitError):
            v.detokenize("customers.card_token", "62220X", format="card_no", context=CTX)
        with pytest.raises(VaultkitError):
            v.blind_index("customers.nope", "x", context=CTX, bits=16)
    records = _records(trail_path)
    assert [(r.operation, r.key, r.outcome, r.principal) for r in records] == [
        ("encrypt", "customers.nope", "error", "app"),
        ("encrypt", "customers.nope", "error", "app"),
        ("tokenize", "customers.card_token", "error", "app"),
        ("detokenize", "customers.card_token", "error", "app"),
        ("blind_index", "customers.nope", "error", "app"),
    ]
    assert "62220X" not in trail_path.read_text()


def test_failed_decrypt_is_recorded_as_error(ring_path: Path, trail_path: Path) -> None:
    fixtures = _fixtures(ring_path)
    with KeyRing.open(ring_path, kms()) as ring:
        ring.grant("app", keys="*", operations={"decrypt"})
        with Trail.open(trail_path, ring) as trail, Vault(ring, principal="app", audit=trail) as v:
            with pytest.raises(DecryptionError):
                v.decrypt(fixtures["ct"], context={"row": "other"})
        (r,) = _records(trail_path)
        assert (r.operation, r.outcome, r.principal) == ("decrypt", "error", "app")


def test_a_batch_across_keys_is_refused_before_anything_is_decrypted(
    ring_path: Path, trail_path: Path
) -> None:
    fixtures = _fixtures(ring_path)
    with KeyRing.open(ring_path, kms()) as ring:
        ring.grant("app", keys="customers.*", operations={"decrypt"})
        events: list[Any] = []
        with Vault(ring, principal="app", audit=events.append) as v:
            with pytest.raises(AccessDeniedError) as info:
                v.decrypt_many([fixtures["ct"], fixtures["ct_acct"]], context=CTX)
        assert info.value.key == "accounts.card_no"
        assert [(e.operation, e.key_name, e.outcome) for e in events] == [
            ("decrypt", "accounts.card_no", "denied")
        ]
        assert not _frames_hold(info.value, ID_NO)


def test_expired_grants_are_refused(ring_path: Path) -> None:
    fixtures = _fixtures(ring_path)
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    with KeyRing.open(ring_path, kms()) as ring:
        ring.grant("app", keys="customers.*", operations={"decrypt"}, expires=past)
        ring.grant("app", keys="accounts.*", operations={"decrypt"}, expires=dt.date(2999, 1, 1))
        ring.grant("late", keys="*", operations={"decrypt"}, expires=dt.date.today())
        with Vault(ring, principal="app") as v:
            with pytest.raises(AccessDeniedError, match="expired") as info:
                v.decrypt(fixtures["ct"], context=CTX)
            assert info.value.key == "customers.id_no"
            assert v.decrypt_text(fixtures["ct_acct"], context=CTX) == CARD
        # a date expires at 00:00 UTC of that day: today's date has expired already
        with Vault(ring, principal="late") as v, pytest.raises(AccessDeniedError, match="expired"):
            v.decrypt(fixtures["ct_acct"], context=CTX)


def _frames_hold(exc: BaseException, secret: str) -> bool:
    import vaultkit

    package = os.path.dirname(vaultkit.__file__)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(package):
            if any(secret in repr(v) for v in tb.tb_frame.f_locals.values()):
                return True
        tb = tb.tb_next
    return False


def test_records_carry_no_values(ring_path: Path, trail_path: Path) -> None:
    fixtures = _fixtures(ring_path)
    with KeyRing.open(ring_path, kms()) as ring:
        ring.grant("teller", keys="customers.*", operations={"reveal_masked"})
        with (
            Trail.open(trail_path, ring) as trail,
            Vault(ring, principal="teller", audit=trail) as v,
        ):
            v.decrypt_masked(fixtures["ct"], context=CTX, kind="cn_id")
            with pytest.raises(AccessDeniedError):
                v.decrypt(fixtures["ct"], context=CTX)
    text = trail_path.read_text()
    for line in text.splitlines():
        json.loads(line)
    assert ID_NO not in text and ID_NO[6:14] not in text
