"""LocalKMS: passphrase and key-file sources, wrap algorithms, associated data, rotation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vaultkit.errors import InvalidKeyError, KeyStoreError, KMSError
from vaultkit.keys import KeyRing, LocalKMS, WrappedKey


@pytest.mark.parametrize("algorithm", ["SM4-GCM", "AES-256-GCM"])
def test_wrap_unwrap_binds_associated_data(algorithm: str) -> None:
    kms = LocalKMS(passphrase="pw", algorithm=algorithm, scrypt_n=2**10)
    kms.initialize()
    w = kms.wrap(b"D" * 32, associated_data=b"who")
    assert w.kek_version == 1 and len(w.blob) == 12 + 32 + 16
    assert kms.unwrap(w, associated_data=b"who") == b"D" * 32
    with pytest.raises(KMSError):
        kms.unwrap(w, associated_data=b"someone else")
    bad = bytearray(w.blob)
    bad[20] ^= 1
    with pytest.raises(KMSError):
        kms.unwrap(WrappedKey(w.kek_id, 1, bytes(bad)), associated_data=b"who")
    assert kms.state()["algorithm"] == algorithm


def test_key_file_ring(tmp_path: Path) -> None:
    raw = os.urandom(32)
    (tmp_path / "k.bin").write_bytes(raw)
    (tmp_path / "k.hex").write_text(raw.hex() + "\n")
    ring = KeyRing.create(tmp_path / "r.json", LocalKMS(key_file=tmp_path / "k.bin"))
    ring.create_key("k")
    material = ring.primary_key("k").material
    assert (
        KeyRing.open(tmp_path / "r.json", LocalKMS(key_file=tmp_path / "k.hex"))
        .primary_key("k")
        .material
        == material
    )
    (tmp_path / "other").write_bytes(os.urandom(32))
    with pytest.raises(KeyStoreError):
        KeyRing.open(tmp_path / "r.json", LocalKMS(key_file=tmp_path / "other"))
    with pytest.raises(KMSError, match="key file"):
        KeyRing.open(tmp_path / "r.json", LocalKMS(passphrase="pw"))


def test_bad_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULTKIT_PASSPHRASE", raising=False)
    with pytest.raises(KMSError, match="VAULTKIT_PASSPHRASE"):
        LocalKMS()
    with pytest.raises(KMSError):
        LocalKMS(passphrase="")
    with pytest.raises(KMSError):
        LocalKMS(passphrase="a", key_file=tmp_path / "x")
    (tmp_path / "short").write_bytes(b"x" * 31)
    with pytest.raises(InvalidKeyError):
        LocalKMS(key_file=tmp_path / "short")
    with pytest.raises(KMSError):
        LocalKMS(key_file=tmp_path / "missing")
    with pytest.raises(KMSError):
        LocalKMS(passphrase="a", algorithm="DES")
    with pytest.raises(KMSError, match="scrypt"):
        LocalKMS(passphrase="a", scrypt_n=2**21)


def test_rotation_adds_versions_and_keeps_old_ones() -> None:
    kms = LocalKMS(passphrase="pw", scrypt_n=2**10)
    kms.initialize()
    old = kms.wrap(b"k" * 16, associated_data=b"")
    assert kms.rotate() == 2 and kms.kek_version == 2
    new = kms.wrap(b"k" * 16, associated_data=b"")
    assert new.kek_version == 2 and new.kek_id == old.kek_id
    assert kms.unwrap(old, associated_data=b"") == kms.unwrap(new, associated_data=b"")
    assert [v["version"] for v in kms.state()["versions"]] == [1, 2]


def test_kek_rotation_never_lowers_the_scrypt_cost(tmp_path: Path) -> None:
    path = tmp_path / "ring.json"
    KeyRing.create(path, LocalKMS(passphrase="pw", scrypt_n=2**11)).close()
    ring = KeyRing.open(path, LocalKMS(passphrase="pw", scrypt_n=2**10))  # e.g. the CLI default
    ring.rotate_kek()
    versions = KeyRing.kms_state(path)["versions"]
    assert [v["n"] for v in versions] == [2**11, 2**11]
    ring.close()
    higher = KeyRing.open(path, LocalKMS(passphrase="pw", scrypt_n=2**12))
    higher.rotate_kek()  # a higher cost asked for is used
    assert KeyRing.kms_state(path)["versions"][-1]["n"] == 2**12
    higher.close()
