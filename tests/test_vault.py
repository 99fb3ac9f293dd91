"""Vault facade: round trips, tamper and context checks, rotation, key states, cache, audit."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaultkit import AuditEvent, Vault
from vaultkit.envelope import inspect
from vaultkit.errors import (
    DecryptionError,
    KeyStateError,
    UnsupportedAlgorithmError,
    VaultkitTypeError,
)
from vaultkit.keys import Algorithm, KeyRing, LocalKMS

CTX = {"table": "customers", "column": "id_no", "row": "42"}


def _kms() -> LocalKMS:
    return LocalKMS(passphrase="pw", scrypt_n=2**10)


@pytest.fixture
def ring(tmp_path: Path) -> Iterator[KeyRing]:
    r = KeyRing.create(tmp_path / "ring.json", _kms())
    r.create_key("sm4")
    r.create_key("aes", Algorithm.AES_256_GCM)
    yield r
    r.close()


@pytest.fixture
def vault(ring: KeyRing) -> Iterator[Vault]:
    with Vault(ring) as v:
        yield v


@pytest.mark.parametrize("name", ["sm4", "aes"])
@pytest.mark.parametrize("plaintext", [b"", b"x", "张三 110105199001011234", b"\x00" * 1000])
def test_round_trip(vault: Vault, name: str, plaintext: bytes | str) -> None:
    ct = vault.encrypt(name, plaintext, context=CTX)
    expected = plaintext.encode() if isinstance(plaintext, str) else plaintext
    assert vault.decrypt(ct, context=CTX) == expected
    text = vault.encrypt_text(name, plaintext, context=CTX)
    assert text.startswith("vk1.") and text.isascii()
    assert vault.decrypt(text, context=CTX) == expected
    if isinstance(plaintext, str):
        assert vault.decrypt_text(text, context=CTX) == plaintext


def test_ciphertext_is_self_describing(vault: Vault, ring: KeyRing) -> None:
    ct = vault.encrypt("aes", b"v", context=CTX)
    h = inspect(ct)
    assert (h.algorithm, h.key_id, h.version) == (Algorithm.AES_256_GCM, 2, 1)
    assert len(ct) == 70 + 1 + 16


def test_randomized(vault: Vault) -> None:
    assert vault.encrypt("sm4", b"v", context=CTX) != vault.encrypt("sm4", b"v", context=CTX)


@pytest.mark.parametrize("name", ["sm4", "aes"])
def test_every_single_byte_flip_fails(vault: Vault, name: str) -> None:
    ct = vault.encrypt(name, b"0123", context=CTX)
    for i in range(len(ct)):
        for delta in (0x01, 0x80):
            bad = bytearray(ct)
            bad[i] ^= delta
            with pytest.raises(DecryptionError):
                vault.decrypt(bytes(bad), context=CTX)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=64), st.data())
def test_truncation_and_extension_fail(vault: Vault, plaintext: bytes, data: st.DataObject) -> None:
    ct = vault.encrypt("sm4", plaintext, context=CTX)
    cut = data.draw(st.integers(0, len(ct) - 1))
    with pytest.raises(DecryptionError):
        vault.decrypt(ct[:cut], context=CTX)
    with pytest.raises(DecryptionError):
        vault.decrypt(ct + data.draw(st.binary(min_size=1, max_size=4)), context=CTX)


@pytest.mark.parametrize(
    "other",
    [
        {**CTX, "row": "43"},
        {**CTX, "column": "name"},
        {"table": "customers", "column": "id_no"},
        {**CTX, "extra": ""},
        {},
    ],
)
def test_moved_to_another_context_fails(vault: Vault, other: dict) -> None:
    ct = vault.encrypt("sm4", b"secret", context=CTX)
    with pytest.raises(DecryptionError):
        vault.decrypt(ct, context=other)


def test_str_and_bytes_context_values_are_the_same(vault: Vault) -> None:
    ct = vault.encrypt("sm4", b"v", context={"row": "42"})
    assert vault.decrypt(ct, context={"row": b"42"}) == b"v"


def test_old_ciphertexts_decrypt_after_rotate_key_and_rotate_kek(vault: Vault, ring: KeyRing):
    old = vault.encrypt("sm4", b"old", context=CTX)
    ring.rotate_key("sm4")
    ring.rotate_kek()
    with Vault(KeyRing.open(ring.path, _kms())) as fresh:
        new = fresh.encrypt("sm4", b"new", context=CTX)
        assert inspect(new).version == 2 and inspect(old).version == 1
        assert fresh.decrypt(old, context=CTX) == b"old"
        assert fresh.decrypt(new, context=CTX) == b"new"


def test_retired_refuses_unless_forced_and_destroyed_never(ring: KeyRing) -> None:
    with Vault(ring) as v:
        ct = v.encrypt("sm4", b"v", context=CTX)
    ring.rotate_key("sm4")
    ring.retire_version("sm4", 1)
    with Vault(ring) as v:
        with pytest.raises(KeyStateError, match="retired"):
            v.decrypt(ct, context=CTX)
        assert v.decrypt(ct, context=CTX, force=True) == b"v"
        with pytest.raises(KeyStateError, match="retired"):  # a forced fetch does not leak
            v.decrypt(ct, context=CTX)
    ring.destroy_version("sm4", 1)
    with Vault(ring) as v:
        with pytest.raises(KeyStateError, match="destroyed"):
            v.decrypt(ct, context=CTX, force=True)


@pytest.mark.parametrize("name", ["sm4", "aes"])
def test_many_shared_and_per_item_contexts(vault: Vault, name: str) -> None:
    values = [f"v{i}".encode() for i in range(50)]
    cts = vault.encrypt_many(name, values, context=CTX)
    assert vault.decrypt_many(cts, context=CTX) == values
    ctxs = [{**CTX, "row": str(i)} for i in range(50)]
    cts = vault.encrypt_many(name, values, contexts=ctxs)
    assert vault.decrypt_many(cts, contexts=ctxs) == values
    assert [vault.decrypt(c, context=x) for c, x in zip(cts, ctxs)] == values
    swapped = ctxs[:]
    swapped[3], swapped[4] = swapped[4], swapped[3]
    with pytest.raises(DecryptionError, match="item 3"):
        vault.decrypt_many(cts, contexts=swapped)
    texts = vault.encrypt_text_many(name, ["a", "b"], context=CTX)
    assert vault.decrypt_text_many(texts, context=CTX) == ["a", "b"]
    assert vault.encrypt_many(name, [], context=CTX) == []


def test_decrypt_many_mixes_versions_and_keys(vault: Vault, ring: KeyRing) -> None:
    a = vault.encrypt_many("sm4", [b"1", b"2"], context=CTX)
    ring.rotate_key("sm4")
    with Vault(ring) as v2:
        b = v2.encrypt_many("sm4", [b"3"], context=CTX) + v2.encrypt_many(
            "aes", [b"4"], context=CTX
        )
        assert v2.decrypt_many([a[0], b[0], a[1], b[1]], context=CTX) == [b"1", b"3", b"2", b"4"]


def test_context_arguments_checked(vault: Vault) -> None:
    with pytest.raises(VaultkitTypeError):
        vault.encrypt_many("sm4", [b"a"])
    with pytest.raises(VaultkitTypeError):
        vault.encrypt_many("sm4", [b"a"], context=CTX, contexts=[CTX])
    with pytest.raises(VaultkitTypeError):
        vault.encrypt_many("sm4", [b"a", b"b"], contexts=[CTX])
    with pytest.raises(VaultkitTypeError):
        vault.encrypt("sm4", 42, context=CTX)  # type: ignore[arg-type]


def test_non_aead_key_refused(ring: KeyRing) -> None:
    ring.create_key("tok", Algorithm.FF1_SM4)
    with Vault(ring) as v, pytest.raises(UnsupportedAlgorithmError):
        v.encrypt("tok", b"x", context=CTX)


def test_vault_is_not_picklable(vault: Vault) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(vault)
    assert "material" not in repr(vault)


def test_audit_events_carry_no_values(ring: KeyRing) -> None:
    events: list[AuditEvent] = []
    with Vault(ring, audit=events.append) as v:
        ct = v.encrypt("sm4", b"SECRETVALUE", context=CTX)
        v.decrypt(ct, context=CTX)
        v.encrypt_many("sm4", [b"a", b"b"], context=CTX)
        with pytest.raises(DecryptionError):
            v.decrypt(ct, context={"row": "1"})
    assert [(e.operation, e.key_name, e.version, e.count, e.ok) for e in events] == [
        ("encrypt", "sm4", 1, 1, True),
        ("decrypt", "sm4", 1, 1, True),
        ("encrypt", "sm4", 1, 2, True),
        ("decrypt", "sm4", 1, 1, False),
    ]
    assert events[0].context_keys == ("column", "row", "table")
    assert "SECRETVALUE" not in repr(events) and "42" not in repr(events)
