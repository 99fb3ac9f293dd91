"""KeyRing: creation, keys and versions, KeyProvider behaviour, metadata and secrecy."""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path

import pytest

from vaultkit.errors import KeyNotFoundError, KeyStateError, KeyStoreError
from vaultkit.keys import Algorithm, KeyProvider, KeyRing, KeyState


def test_create_refuses_existing_file(ring: KeyRing, ring_path: Path, make_kms) -> None:
    with pytest.raises(KeyStoreError, match="already exists"):
        KeyRing.create(ring_path, make_kms())


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_every_algorithm_key_round_trips_through_the_store(
    ring: KeyRing, reopen, algorithm: Algorithm
) -> None:
    info = ring.create_key("k", algorithm)
    assert info.algorithm is algorithm and info.primary_version == 1
    key = ring.primary_key("k")
    assert len(key.material) == algorithm.key_size
    again = reopen().key_version("k", 1)
    assert again.material == key.material and again.algorithm is algorithm


def test_key_ids_are_stable_and_unique(ring: KeyRing, reopen) -> None:
    a = ring.create_key("a").key_id
    b = ring.create_key("b", "AES-256-GCM").key_id
    assert a != b
    r = reopen()
    assert r.key_by_id(b, 1).name == "b"
    assert {k.name: k.key_id for k in r.keys()} == {"a": a, "b": b}


def test_duplicate_and_bad_names_refused(ring: KeyRing) -> None:
    ring.create_key("customers.id_no")
    with pytest.raises(KeyStoreError):
        ring.create_key("customers.id_no")
    for bad in ("", " x", "a\nb", "x" * 201):
        with pytest.raises(KeyStoreError):
            ring.create_key(bad)


def test_rotate_key_makes_new_primary(ring: KeyRing) -> None:
    ring.create_key("k")
    first = ring.primary_key("k").material
    assert ring.rotate_key("k") == 2
    assert ring.primary_key("k").version == 2
    assert ring.primary_key("k").material != first
    assert ring.key_version("k", 1).material == first
    assert ring.key_version("k", 1).state is KeyState.ACTIVE
    assert ring.readable_versions("k") == [2, 1]


def test_unknown_key_and_version(ring: KeyRing) -> None:
    with pytest.raises(KeyNotFoundError):
        ring.primary_key("nope")
    ring.create_key("k")
    with pytest.raises(KeyNotFoundError):
        ring.key_version("k", 7)
    with pytest.raises(KeyNotFoundError):
        ring.key_by_id(999, 1)


def test_is_a_key_provider(ring: KeyRing) -> None:
    provider: KeyProvider = ring
    ring.create_key("k")
    assert provider.primary_key("k").key_id == provider.key_by_id(1, 1).key_id


def test_wrong_passphrase_is_a_clear_error(ring: KeyRing, reopen) -> None:
    ring.create_key("k")
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        reopen("not the passphrase")


def test_passphrase_from_environment(ring_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vaultkit.keys import LocalKMS

    monkeypatch.setenv("VAULTKIT_PASSPHRASE", "from-env")
    r = KeyRing.create(ring_path, LocalKMS(scrypt_n=2**10))
    r.create_key("k")
    assert KeyRing.open(ring_path, LocalKMS(passphrase="from-env")).primary_key("k")


def test_metadata_and_reprs_reveal_no_material(ring: KeyRing, ring_path: Path, caplog) -> None:
    ring.create_key("k")
    key = ring.primary_key("k")
    secret_hex = key.material.hex()
    text = " ".join([repr(ring), str(ring), repr(ring.keys()), repr(key), str(key), repr(ring.kms)])
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("t").info("%s %s %s", ring, key, ring.kms)
    for blob in (text, caplog.text, ring_path.read_text()):
        assert secret_hex not in blob and key.material.decode("latin-1") not in blob
    assert "correct horse" not in text
    for obj in (ring, key, ring.kms):
        with pytest.raises(TypeError):
            pickle.dumps(obj)


def test_store_file_is_private(ring: KeyRing, ring_path: Path) -> None:
    assert ring_path.stat().st_mode & 0o077 == 0
    data = json.loads(ring_path.read_text())
    assert data["vaultkit_keyring"] == 2 and "mac" in data


def test_metadata_lists_versions(ring: KeyRing) -> None:
    ring.create_key("k")
    ring.rotate_key("k")
    (info,) = ring.keys()
    assert [(v.version, v.state, v.kek_version) for v in info.versions] == [
        (1, KeyState.ACTIVE, 1),
        (2, KeyState.PRIMARY, 1),
    ]
    assert info.created and info.key_id == 1


def test_changes_by_another_process_are_seen(ring: KeyRing, reopen) -> None:
    ring.create_key("a")
    other = reopen()
    other.create_key("b")
    other.rotate_key("a")
    assert "b" in ring
    assert ring.primary_key("a").version == 2
    ring.create_key("c")  # re-reads under the lock: b is kept
    assert {k.name for k in other.keys()} == {"a", "b", "c"}


def test_primary_key_is_unwrapped_once_per_store_generation(ring: KeyRing, reopen) -> None:
    """Issue 16: the primary is unwrapped once, not on every call (the unwrap was 61% of a
    single tokenize); a change by another process (or object) on the file is still seen at the
    next call, which stats the store as before."""
    ring.create_key("a")
    first = ring.primary_key("a")
    assert ring.primary_key("a") is first  # cached: no unwrap
    other = reopen()
    other.rotate_key("a")
    second = ring.primary_key("a")  # the file changed: re-read, a new generation
    assert second.version == 2 and second.material != first.material
    assert ring.primary_key("a") is second
    ring.rotate_key("a")  # a write through this object starts a new generation too
    assert ring.primary_key("a").version == 3
    other.retire_version("a", 1)
    assert ring.primary_key("a").version == 3
    assert next(v.state for v in ring.key_info("a").versions) is KeyState.RETIRED


def test_closed_ring_refuses(ring: KeyRing) -> None:
    ring.create_key("k")
    ring.close()
    with pytest.raises(KeyStoreError):
        ring.primary_key("k")


def test_retired_state_error_message(ring: KeyRing) -> None:
    ring.create_key("k")
    ring.rotate_key("k")
    ring.retire_version("k", 1)
    with pytest.raises(KeyStateError, match="retired"):
        ring.key_version("k", 1)
    assert ring.key_version("k", 1, force=True).state is KeyState.RETIRED


def test_public_api_is_frozen() -> None:
    import vaultkit
    import vaultkit.envelope
    import vaultkit.keys

    assert sorted(vaultkit.keys.__all__) == sorted(
        ["KMS", "Algorithm", "Anchor", "DataKey", "DatabaseAnchor", "KekInfo", "KeyInfo",
         "KeyProvider", "KeyRing", "KeyState", "LocalKMS", "PKCS11Anchor", "PKCS11KMS",
         "SM2Recipients", "VersionInfo", "WrappedKey"]
    )  # fmt: skip
    assert sorted(vaultkit.envelope.__all__) == [
        "FieldCipher",
        "Header",
        "encode_context",
        "inspect",
        "peek",
        "peek_prefix",
    ]
    assert {"Vault", "AuditEvent"} <= set(vaultkit.__all__)
    assert [a.wire_id for a in Algorithm] == [0x01, 0x02, 0x10, 0x11, 0x20, 0x21]
