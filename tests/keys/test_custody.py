"""Key custody defects (issue 12): fresh store keys on KEK rotation, destroy rules, fork safety,
wiping LocalKMS secrets. Each test reproduces the defect it names."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest

from vaultkit import Vault
from vaultkit.envelope import inspect
from vaultkit.errors import KeyStateError, KeyStoreError
from vaultkit.keys import KeyRing, KeyState, LocalKMS, SM2Recipients, WrappedKey, sm2
from vaultkit.keys._ring_format import _MAC_LABEL, _canonical, _mac_key, _rk_ad

from .conftest import local_kms

CTX = {"table": "t", "column": "c", "row": "1"}


def _store_key(path: Path, kms: object, kek: int = 0) -> bytes:
    """The MAC key someone holding ``kms``'s secret learns from a copy of the store at ``path``
    (unwrapping the ring key of KEK recipient ``kek``)."""
    body = json.loads(path.read_text())["body"]
    recipient = body["keks"][kek]
    kms.load_state(recipient["kms"])  # type: ignore[attr-defined]
    wrapped = WrappedKey.from_json(recipient["ring_key"])
    rk: bytes = kms.unwrap(  # type: ignore[attr-defined]
        wrapped, associated_data=_rk_ad(bytes.fromhex(body["ring_id"]), body["epoch"])
    )
    return _mac_key(rk)


def _forge(path: Path, store_key: bytes, name: str, version: int) -> None:
    """Re-promote ``version`` of ``name`` to primary in the current store, MACed under
    ``store_key`` (the attack of defect 1)."""
    outer = json.loads(path.read_text())
    for entry in outer["body"]["keys"]:
        if entry["name"] == name:
            for v in entry["versions"]:
                if v["state"] == "primary":
                    v["state"] = "active"
                if v["version"] == version:
                    v["state"] = "primary"
                    v.pop("retired_at", None)
    outer["mac"] = hmac.new(
        store_key, _MAC_LABEL + _canonical(outer["body"]), hashlib.sha256
    ).hexdigest()
    path.write_text(json.dumps(outer))


# -- defect 1: every KEK rotation draws a fresh store key ------------------------------------------
def test_old_passphrase_and_old_copy_cannot_forge_after_a_passphrase_change(
    ring_path: Path,
) -> None:
    ring = KeyRing.create(ring_path, local_kms("old passphrase"))
    ring.create_key("k")
    old_copy = ring_path.read_bytes()
    ring.kms.set_next_secret(passphrase="new passphrase")  # type: ignore[attr-defined]
    ring.rotate_kek()
    ring.rotate_key("k")
    ring.retire_version("k", 1)
    ring.close()
    # the attacker knew the old passphrase and kept the old copy: they know the old store key
    copy = ring_path.with_name("old.json")
    copy.write_bytes(old_copy)
    old_key = _store_key(copy, local_kms("old passphrase"))
    _forge(ring_path, old_key, "k", 1)
    with pytest.raises(KeyStoreError, match="damaged or altered"):
        KeyRing.open(ring_path, local_kms("new passphrase"))


def test_every_kek_rotation_changes_the_store_key(ring: KeyRing, ring_path: Path) -> None:
    before = _store_key(ring_path, local_kms())
    ring.rotate_kek()
    after = _store_key(ring_path, local_kms())
    assert before != after
    ring.create_key("k")  # the ring keeps working under the new store key
    ring.close()
    with KeyRing.open(ring_path, local_kms()) as again:
        assert "k" in again


def test_removing_an_sm2_recipient_draws_a_fresh_store_key(tmp_path: Path) -> None:
    kept_private, kept = sm2.generate_keypair()
    gone_private, gone = sm2.generate_keypair()
    path = tmp_path / "ring.json"
    ring = KeyRing.create(path, SM2Recipients(public_keys=[kept, gone], private_key=kept_private))
    ring.create_key("k")
    copy = tmp_path / "old.json"
    copy.write_bytes(path.read_bytes())
    ring.kms.set_recipients([kept])  # type: ignore[attr-defined]
    ring.rotate_kek()
    ring.rotate_key("k")
    ring.retire_version("k", 1)
    ring.close()
    old_key = _store_key(copy, SM2Recipients(private_key=gone_private, public_keys=[kept, gone]))
    _forge(path, old_key, "k", 1)
    with pytest.raises(KeyStoreError, match="damaged or altered"):
        KeyRing.open(path, SM2Recipients(private_key=kept_private))


# -- defect 2 (key ring side): destroy only retired versions, after the grace ------------------
def test_destroy_refuses_primary_active_and_freshly_retired(ring: KeyRing) -> None:
    ring.create_key("k")
    ring.rotate_key("k")
    with pytest.raises(KeyStateError, match="primary"):
        ring.destroy_version("k", 2)
    with pytest.raises(KeyStateError, match="only a retired version"):
        ring.destroy_version("k", 1)  # active: still decrypts, maybe cached as primary elsewhere
    ring.retire_version("k", 1)
    with pytest.raises(KeyStateError, match="retired 0 s ago"):
        ring.destroy_version("k", 1)
    ring.activate_version("k", 1)  # undo the retire: the wait starts again at the next retire
    ring.retire_version("k", 1)
    ring.destroy_version("k", 1, force=True)
    assert ring.key_info("k").versions[0].state is KeyState.DESTROYED


def test_destroy_after_the_grace(ring: KeyRing, ring_path: Path) -> None:
    ring.create_key("k")
    ring.rotate_key("k")
    ring.retire_version("k", 1)
    with pytest.raises(KeyStateError, match="retired"):
        ring.destroy_version("k", 1, grace=3600.0)
    ring.destroy_version("k", 1, grace=0.0)
    assert ring.key_info("k").versions[0].state is KeyState.DESTROYED


def test_a_store_without_retire_times_still_destroys_retired_versions(
    ring: KeyRing, ring_path: Path
) -> None:
    ring.create_key("k")
    ring.rotate_key("k")
    ring.retire_version("k", 1)
    # a store written before retire times were recorded: re-MAC it without the field
    store_key = _store_key(ring_path, local_kms())
    outer = json.loads(ring_path.read_text())
    del outer["body"]["keys"][0]["versions"][0]["retired_at"]
    outer["mac"] = hmac.new(
        store_key, _MAC_LABEL + _canonical(outer["body"]), hashlib.sha256
    ).hexdigest()
    ring_path.write_text(json.dumps(outer))
    ring.destroy_version("k", 1)
    assert ring.key_info("k").versions[0].state is KeyState.DESTROYED


def test_a_vault_notices_another_process_rotating(ring_path: Path) -> None:
    """Before the fix the vault kept its cached primary (v1) for cache_ttl (300 s)."""
    import subprocess
    import sys

    ring = KeyRing.create(ring_path, local_kms())
    ring.create_key("k")
    vault = Vault(ring)
    assert inspect(vault.encrypt("k", b"x", context=CTX)).version == 1
    kms = "LocalKMS(passphrase='correct horse battery staple', scrypt_n=2**10)"
    script = (
        "from vaultkit.keys import KeyRing, LocalKMS\n"
        f"KeyRing.open({str(ring_path)!r}, {kms}).rotate_key('k')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    # the next stat is due at most STORE_CHECK_INTERVAL after the last: make it due now
    vault._cache._check_at = 0.0
    assert inspect(vault.encrypt("k", b"x", context=CTX)).version == 2
    vault.close()
    ring.close()


# -- defect 6: fork safety and wiping ------------------------------------------------------------
def test_fork_child_gets_fresh_locks_and_an_empty_cache(ring: KeyRing) -> None:
    ring.create_key("k")
    vault = Vault(ring)
    ct = vault.encrypt("k", b"x", context=CTX)
    cache = vault._cache
    assert cache._by_id  # the parent has a cached DEK
    # hold every lock in the parent while forking, as another thread might
    locks = [ring._lock, cache._lock, vault._lock, ring.kms._lock]  # type: ignore[attr-defined]
    for lock in locks:
        lock.acquire()
    try:
        pid = os.fork()
        if pid == 0:  # child: must not hang on the inherited, held locks
            code = 1
            try:
                fresh = [ring._lock, cache._lock, vault._lock, ring.kms._lock]  # type: ignore[attr-defined]
                if all(a is not b for a, b in zip(fresh, locks, strict=True)):
                    if not cache._by_id and not cache._primary:
                        if vault.decrypt(ct, context=CTX) == b"x":
                            code = 0
            finally:
                os._exit(code)
    finally:
        for lock in locks:
            lock.release()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    vault.close()


def test_local_kms_close_wipes_the_passphrase_and_keks(ring_path: Path) -> None:
    kms = local_kms()
    ring = KeyRing.create(ring_path, kms)
    ring.create_key("k")
    secret = kms._secret
    keks = list(kms._keks.values())
    assert isinstance(secret, bytearray) and secret and keks
    ring.close()
    assert secret == bytearray() and kms._secret == bytearray()
    assert all(k == bytearray() for k in keks) and not kms._keks
    with pytest.raises(KeyStoreError, match="closed"):
        KeyRing.open(ring_path, kms)
    with KeyRing.open(ring_path, local_kms()) as again:  # a new one opens it
        assert "k" in again


def test_local_kms_key_file_is_wiped_too(tmp_path: Path) -> None:
    key_file = tmp_path / "kek.bin"
    key_file.write_bytes(os.urandom(32))
    kms = LocalKMS(key_file=key_file)
    KeyRing.create(tmp_path / "ring.json", kms).close()
    assert kms._secret == bytearray()
