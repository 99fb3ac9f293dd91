"""Several KEKs per key ring (issue 12): any recipient opens it; adding keeps the ring key,
removing draws a fresh one; format 1 stores (the golden one) open and migrate on first write."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pytest

from vaultkit import Vault
from vaultkit.errors import KeyStoreError, KMSError
from vaultkit.keys import PKCS11KMS, KeyRing, LocalKMS, SM2Recipients, sm2

from .conftest import local_kms

CTX = {"table": "t", "column": "c", "row": "1"}
GOLDEN = Path(__file__).parents[1] / "golden" / "envelope"


def test_any_recipient_opens_the_ring(ring_path: Path, tmp_path: Path) -> None:
    key_file = tmp_path / "kek.bin"
    key_file.write_bytes(secrets.token_bytes(32))
    recovery_private, recovery_public = sm2.generate_keypair()
    ring = KeyRing.create(ring_path, local_kms())
    ring.create_key("k")
    assert ring.add_kek(LocalKMS(key_file=key_file)) == "key-file"
    # the recovery recipient needs only its public key to be added (kept offline in a safe)
    assert ring.add_kek(SM2Recipients(public_keys=[recovery_public]), name="recovery") == "recovery"
    with Vault(ring) as v:
        ct = v.encrypt("k", b"x", context=CTX)
    assert [(k.name, k.kind, k.opened_with) for k in ring.keks()] == [
        ("passphrase", "local", True),
        ("key-file", "local", False),
        ("recovery", "sm2", False),
    ]
    ring.close()
    for kms in (
        local_kms(),
        LocalKMS(key_file=key_file),
        SM2Recipients(private_key=recovery_private),
    ):
        with KeyRing.open(ring_path, kms) as again, Vault(again) as v:
            assert v.decrypt(ct, context=CTX) == b"x"
            again.create_key(f"by-{kms.kind}-{len(again.keys())}")  # and writes
    with pytest.raises(KeyStoreError, match="does not unwrap"):
        KeyRing.open(ring_path, local_kms("wrong passphrase"))


def test_keep_old_passphrase_during_a_rollout_then_remove(ring_path: Path) -> None:
    """`kek rotate --keep-old`: services still holding the old passphrase keep working until
    the old wrapper is removed; removing draws a fresh ring key."""
    ring = KeyRing.create(ring_path, local_kms("old passphrase"))
    ring.create_key("k")
    service = KeyRing.open(ring_path, local_kms("old passphrase"))  # a running service
    assert ring.add_kek(local_kms("new passphrase"), name="new") == "new"
    with Vault(service) as v:  # the service notices the change and keeps working
        ct = v.encrypt("k", b"x", context=CTX)
    with KeyRing.open(ring_path, local_kms("new passphrase")) as new:
        assert [k.name for k in new.keks() if k.opened_with] == ["new"]
        with pytest.raises(KeyStoreError, match="opened with KEK 'new'"):
            new.remove_kek("new")
        # the old passphrase entry needs no credential to be removed
        new.remove_kek("passphrase")
        assert [k.name for k in new.keks()] == ["new"]
        with Vault(new) as v:
            assert v.decrypt(ct, context=CTX) == b"x"
    with pytest.raises(KeyStoreError):
        service.reload()  # the old passphrase no longer opens the store
    with pytest.raises(KeyStoreError):
        KeyRing.open(ring_path, local_kms("old passphrase"))
    service.close()
    ring.close()


def test_rotation_rewraps_for_the_other_recipients(ring_path: Path) -> None:
    recovery_private, recovery_public = sm2.generate_keypair()
    ring = KeyRing.create(ring_path, local_kms())
    ring.create_key("k")
    ring.add_kek(local_kms("second passphrase"), name="second")
    ring.add_kek(SM2Recipients(public_keys=[recovery_public]), name="recovery")
    epoch = ring.keys()[0].versions[0].kek_version
    with pytest.raises(KeyStoreError, match="'second' must wrap the fresh ring key"):
        ring.rotate_kek()
    # a wrong credential is skipped (it does not unwrap the recipient's current wrapper)
    assert ring.rotate_kek(others=[local_kms("not it"), local_kms("second passphrase")]) == 2
    assert ring.keys()[0].versions[0].kek_version == epoch + 1
    ring.close()
    for kms in (local_kms(), local_kms("second passphrase")):
        with KeyRing.open(ring_path, kms) as again:
            assert "k" in again
    with KeyRing.open(ring_path, SM2Recipients(private_key=recovery_private)) as again:
        assert "k" in again
    # a credential that is not the recipient's is not taken for it
    with KeyRing.open(ring_path, local_kms()) as again:
        with pytest.raises(KeyStoreError, match="'second' must wrap"):
            again.rotate_kek(others=[local_kms("not the second")])


def test_removed_kek_with_an_old_copy_cannot_read_new_keys(ring_path: Path, tmp_path: Path) -> None:
    from vaultkit.errors import DecryptionError
    from vaultkit.hazmat import _fast
    from vaultkit.keys import Algorithm, WrappedKey
    from vaultkit.keys._ring_format import _dek_ad, _dek_key, _rk_ad

    ring = KeyRing.create(ring_path, local_kms())
    ring.add_kek(local_kms("leaked"), name="leaked")
    old = json.loads(ring_path.read_text())["body"]
    ring.remove_kek("leaked")
    ring.create_key("new")
    wrapped = json.loads(ring_path.read_text())["body"]["keys"][0]["versions"][0]["wrapped"]
    ring.close()
    # the holder of "leaked" recovers the old ring key from the old copy ...
    leaked = local_kms("leaked")
    leaked.load_state(old["keks"][1]["kms"])
    old_rk = leaked.unwrap(
        WrappedKey.from_json(old["keks"][1]["ring_key"]),
        associated_data=_rk_ad(bytes.fromhex(old["ring_id"]), old["epoch"]),
    )
    # ... which does not open a DEK created after the removal (a fresh ring key wraps it)
    blob = WrappedKey.from_json(wrapped).blob
    ad = _dek_ad(bytes.fromhex(old["ring_id"]), "new", 1, 1, Algorithm.SM4_GCM)
    with pytest.raises(DecryptionError):
        _fast.aead("SM4-GCM", _dek_key(old_rk)).decrypt(blob[:12], blob[12:], ad)
    with KeyRing.open(ring_path, local_kms()) as current:  # while the current ring key does
        material = _fast.aead("SM4-GCM", _dek_key(current._rk)).decrypt(blob[:12], blob[12:], ad)
        assert material == current.primary_key("new").material
    assert wrapped["kek_version"] == old["epoch"] + 1


def test_pkcs11_and_passphrase_recipients(ring_path: Path, softhsm: dict[str, str]) -> None:
    def hsm() -> PKCS11KMS:
        return PKCS11KMS(
            module=softhsm["module"],
            token_label=softhsm["token_label"],
            pin=softhsm["pin"],
            key_label="kek-" + ring_path.parent.name[-8:],
        )

    ring = KeyRing.create(ring_path, hsm())
    ring.create_key("k")
    ring.add_kek(local_kms(), name="offline")
    ring.close()
    with KeyRing.open(ring_path, local_kms()) as by_passphrase:
        assert "k" in by_passphrase
        by_passphrase.rotate_kek(others=[hsm()])
    with KeyRing.open(ring_path, hsm()) as by_token:
        assert "k" in by_token
        by_token.remove_kek("offline")
    with pytest.raises(KMSError, match="uses the 'pkcs11' KMS"):
        KeyRing.open(ring_path, local_kms())


def test_golden_format_1_store_opens_and_migrates_on_first_write(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    shutil.copy(GOLDEN / "keyring.json", path)
    passphrase = (GOLDEN / "passphrase.txt").read_text().strip()
    vectors = json.loads((GOLDEN / "vectors.json").read_text())
    assert json.loads(path.read_text())["vaultkit_keyring"] == 1
    with KeyRing.open(path, LocalKMS(passphrase=passphrase)) as ring:
        before = {(k.name, v.version): v.state for k in ring.keys() for v in k.versions}
        materials = {
            (k.name, v.version): ring.key_version(k.name, v.version, force=True).material
            for k in ring.keys()
            for v in k.versions
            if v.state.value != "destroyed"
        }
        assert [k.name for k in ring.keks()] == ["kek"]
        ring.create_key("after-migration")
    outer = json.loads(path.read_text())
    assert outer["vaultkit_keyring"] == 2 and "kms" not in outer["body"]
    with KeyRing.open(path, LocalKMS(passphrase=passphrase)) as ring:
        after = {(k.name, v.version): v.state for k in ring.keys() for v in k.versions}
        assert {k: s for k, s in after.items() if k[0] != "after-migration"} == before
        for (name, version), material in materials.items():
            assert ring.key_version(name, version, force=True).material == material
        assert [k.name for k in ring.keks()] == ["passphrase"]
    assert vectors  # the golden vectors themselves are checked in tests/envelope
