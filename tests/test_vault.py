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
from vaultkit.envelope._format import to_text
from vaultkit.errors import (
    DecryptionError,
    InputFormatError,
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
    ring.destroy_version("sm4", 1, force=True)
    with Vault(ring) as v:
        # a destroyed key cannot authenticate the ciphertext: the opaque error (issue 12)
        with pytest.raises(DecryptionError):
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


def test_header_naming_a_non_aead_key_is_an_opaque_decryption_error(ring: KeyRing) -> None:
    ring.create_key("secret.token.key", Algorithm.FF1_SM4)
    tok_id = ring.key_info("secret.token.key").key_id
    with Vault(ring) as v:
        ct = bytearray(v.encrypt("sm4", b"x", context=CTX))
        ct[2:6] = tok_id.to_bytes(4, "big")  # the header now names the token key
        with pytest.raises(DecryptionError) as exc:
            v.decrypt(bytes(ct), context=CTX)
        assert "secret.token.key" not in str(exc.value)
        with pytest.raises(DecryptionError) as many:
            v.decrypt_many([v.encrypt("sm4", b"y", context=CTX), bytes(ct)], context=CTX)
        assert many.value.where == "item 1"


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


# -- batch decryption: grouped by header, checked exactly as one by one -------------------------
@pytest.mark.parametrize("name", ["sm4", "aes"])
@pytest.mark.parametrize("form", ["binary", "text"])
def test_decrypt_many_any_byte_flip_names_the_item(vault: Vault, name: str, form: str) -> None:
    values = [f"value {i:02d}".encode() for i in range(12)]
    cts = vault.encrypt_many(name, values, context=CTX)
    for pos in range(len(cts[5])):
        flipped = bytearray(cts[5])
        flipped[pos] ^= 0x01
        batch = [*cts[:5], bytes(flipped), *cts[6:]]
        given_ = [to_text(c) for c in batch] if form == "text" else batch
        with pytest.raises(DecryptionError) as exc:
            vault.decrypt_many(given_, context=CTX)
        assert exc.value.where == "item 5"
    for short in (cts[7][:-1], cts[7] + b"\x00", cts[7][:60], b""):
        with pytest.raises(DecryptionError, match="item 7"):
            vault.decrypt_many([*cts[:7], short, *cts[8:]], context=CTX)
    texts = vault.encrypt_text_many(name, values, context=CTX)
    assert vault.decrypt_many(texts, context=CTX) == values
    assert vault.decrypt_many(texts[:3] + cts[3:], context=CTX) == values


def test_decrypt_many_groups_writers_and_versions(ring: KeyRing) -> None:
    """Items of several writers (salts) and key versions, interleaved, per-item contexts."""
    events: list[AuditEvent] = []
    ctxs = [{**CTX, "row": str(i)} for i in range(40)]
    values = [f"v{i}".encode() for i in range(40)]
    with Vault(ring) as a, Vault(ring) as b:  # two writers: two salts under version 1
        first = a.encrypt_many("sm4", values[:20], contexts=ctxs[:20])
        second = b.encrypt_many("sm4", values[20:], contexts=ctxs[20:])
    ring.rotate_key("sm4")
    with Vault(ring) as c:
        third = c.encrypt_many("sm4", values[:10], contexts=ctxs[:10])
    mixed = [x for pair in zip(first, second, strict=True) for x in pair] + third
    order = [i for pair in zip(range(20), range(20, 40), strict=True) for i in pair]
    order += list(range(10))
    with Vault(ring, audit=events.append) as v:
        got = v.decrypt_many(mixed, contexts=[ctxs[i] for i in order])
        assert got == [values[i] for i in order]
        assert [(e.version, e.count, e.ok) for e in events] == [(1, 40, True), (2, 10, True)]
        swapped = [ctxs[i] for i in order]
        swapped[41], swapped[42] = swapped[42], swapped[41]
        with pytest.raises(DecryptionError) as exc:
            v.decrypt_many(mixed, contexts=swapped)
        assert exc.value.where == "item 41"
        bad = mixed[:]
        bad[13] = bad[13][:30] + bytes([bad[13][30] ^ 0x80]) + bad[13][31:]  # a commitment byte
        with pytest.raises(DecryptionError) as exc:
            v.decrypt_many(bad, contexts=[ctxs[i] for i in order])
        assert exc.value.where == "item 13"
        unknown = mixed[:]
        unknown[17] = unknown[17][:2] + b"\xff\xff\xff\xff" + unknown[17][6:]  # key id
        with pytest.raises(DecryptionError) as exc:
            v.decrypt_many(unknown, contexts=[ctxs[i] for i in order])
        assert exc.value.where == "item 17"


def test_decrypt_text_many_refuses_non_utf8(vault: Vault) -> None:
    cts = vault.encrypt_many("sm4", [b"ok", b"\xff\xfe"], context=CTX)
    with pytest.raises(InputFormatError):
        vault.decrypt_text_many(cts, context=CTX)
    assert vault.decrypt_text_many(cts[:1] * 9, context=CTX) == ["ok"] * 9


# -- DEK cache -----------------------------------------------------------------------------------
@pytest.fixture
def unwraps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts DEK unwraps by the key ring (under its ring key, which a KEK unwrapped once)."""
    calls: list[int] = []
    real = KeyRing._unwrap

    def counting(self, wrapped, ad, rk=None):
        calls.append(wrapped.kek_version)
        return real(self, wrapped, ad, rk)

    monkeypatch.setattr(KeyRing, "_unwrap", counting)
    return calls


def test_kms_called_once_per_key_version(ring: KeyRing, unwraps: list[int]) -> None:
    with Vault(ring) as v:
        cts = [v.encrypt("sm4", b"x", context=CTX) for _ in range(200)]
        cts += v.encrypt_many("sm4", [b"y"] * 500, context=CTX)
        assert v.decrypt_many(cts, context=CTX)[-1] == b"y"
        assert all(v.decrypt(c, context=CTX) for c in cts[:50])
        assert len(unwraps) == 1
        ring.rotate_key("sm4")  # through this ring: the cache sees it at once
        assert inspect(v.encrypt("sm4", b"z", context=CTX)).version == 2
        assert v.decrypt(cts[0], context=CTX) == b"x"
    assert len(unwraps) == 3  # the new version, and version 1 again after the reload


def test_cache_bounded_by_uses_and_time(ring: KeyRing, unwraps: list[int], monkeypatch) -> None:
    with Vault(ring, cache_uses=10) as v:
        for _ in range(25):
            v.encrypt("sm4", b"x", context=CTX)
        assert len(unwraps) == 3
    unwraps.clear()
    from vaultkit.keys import _cache

    now = [1000.0]
    monkeypatch.setattr(_cache, "_monotonic", lambda: now[0])
    with Vault(ring, cache_ttl=60) as v:
        v.encrypt("sm4", b"x", context=CTX)
        now[0] += 59
        v.encrypt("sm4", b"x", context=CTX)
        assert len(unwraps) == 1
        now[0] += 2
        v.encrypt("sm4", b"x", context=CTX)
        assert len(unwraps) == 2
    unwraps.clear()
    with Vault(ring, cache_ttl=0) as v:
        for _ in range(3):
            v.encrypt("sm4", b"x", context=CTX)
        assert len(unwraps) == 3


def test_expired_keys_are_dropped_from_the_cache(ring: KeyRing, monkeypatch) -> None:
    from vaultkit.keys import _cache

    now = [1000.0]
    monkeypatch.setattr(_cache, "_monotonic", lambda: now[0])
    with Vault(ring, cache_ttl=60) as v:
        v.encrypt("sm4", b"x", context=CTX)
        now[0] += 61
        v.encrypt("aes", b"x", context=CTX)  # a miss for another key
        held = [e.key.name for e in v._cache._by_id.values()]
        held += [e.key.name for e in v._cache._primary.values()]
        assert held == ["aes", "aes"]


def test_close_drops_cached_keys(ring: KeyRing, unwraps: list[int]) -> None:
    v = Vault(ring)
    ct = v.encrypt("sm4", b"x", context=CTX)
    v.close()
    assert v.decrypt(ct, context=CTX) == b"x"  # usable again, after a fresh unwrap
    assert len(unwraps) == 2
    v.close()


# -- nonces, salts and fork ----------------------------------------------------------------------
def test_nonces_unique_and_salt_rolls_over(ring: KeyRing, monkeypatch) -> None:
    from vaultkit.envelope import _field

    with Vault(ring) as v:
        cts = [v.encrypt("sm4", b"x", context=CTX) for _ in range(300)]
        cts += v.encrypt_many("sm4", [b"x"] * 300, context=CTX)
    assert len({c[58:70] for c in cts}) == 600
    assert len({c[10:26] for c in cts}) == 1  # one salt per writer and key version
    monkeypatch.setattr(_field, "_LIMIT", 5)
    with Vault(ring) as v:
        cts = [v.encrypt("sm4", b"x", context=CTX) for _ in range(12)]
        cts += v.encrypt_many("sm4", [b"x"] * 4, context=CTX)
        assert len({c[10:26] for c in cts}) == 4  # 5 + 5 + 2, then a batch of 4 > 3 left
        assert v.decrypt_many(cts, context=CTX) == [b"x"] * 16


def test_forked_child_uses_a_new_salt(ring: KeyRing) -> None:
    import os

    with Vault(ring) as v:
        parent = v.encrypt("sm4", b"x", context=CTX)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: encrypt with the inherited vault and report the ciphertext
            try:
                os.write(w, v.encrypt("sm4", b"x", context=CTX))
            finally:
                os._exit(0)
        os.close(w)
        child = os.read(r, 4096)
        os.close(r)
        os.waitpid(pid, 0)
        assert child[10:26] != parent[10:26]
        assert v.decrypt(child, context=CTX) == b"x"


def test_forked_child_does_not_inherit_a_held_cipher_lock(ring: KeyRing) -> None:
    import os
    import signal

    with Vault(ring) as v:
        v.encrypt("sm4", b"x", context=CTX)
        (cipher,) = v._ciphers._live  # the FieldCipher the Vault derived
        r, w = os.pipe()
        with cipher._lock:  # as if another thread were rekeying at the moment of fork
            pid = os.fork()
            if pid == 0:  # child: its first field rekeys, which takes the lock
                try:
                    signal.alarm(10)  # a deadlocked child dies instead of hanging the test
                    os.write(w, v.encrypt("sm4", b"y", context=CTX))
                finally:
                    os._exit(0)
        os.close(w)
        child = os.read(r, 4096)
        os.close(r)
        os.waitpid(pid, 0)
        assert v.decrypt(child, context=CTX) == b"y"


# -- delegation to the token and blind-index recipes ---------------------------------------------
def test_tokenize_delegates_to_tokenizer(ring: KeyRing) -> None:
    from vaultkit.tokens import Tokenizer

    ring.create_key("card", Algorithm.FF1_SM4)
    ctx = {"table": "customers", "column": "card_no"}
    card = "6222021234567890128"
    expected = Tokenizer(ring).tokenize("card", card, format="card", context=ctx)
    with Vault(ring) as v:
        token = v.tokenize("card", card, format="card", context=ctx)
        assert token == expected
        assert v.detokenize("card", token, format="card", context=ctx) == card
        assert v.tokenize_many("card", [card], format="card", context=ctx) == [token]
        assert v.detokenize_many("card", [token], format="card", context=ctx) == [card]


def test_blind_index_delegates(ring: KeyRing, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    calls = []

    class FakeIndexer:
        def __init__(self, keys):
            self.keys = keys

        def compute(self, key_name, value, *, context, bits, version=None, kind=None):
            calls.append(("compute", key_name, value, bits, version, kind))
            return b"i"

        def compute_many(self, key_name, values, *, context, bits, version=None, kind=None):
            calls.append(("compute_many", key_name, tuple(values), bits, version, kind))
            return [b"i"] * len(values)

        def candidates(self, key_name, value, *, context, bits, kind=None):
            calls.append(("candidates", key_name, value, bits, kind))
            return [b"i", b"j"]

    fake = types.ModuleType("vaultkit.blindindex")
    fake.BlindIndexer = FakeIndexer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vaultkit.blindindex", fake)
    with Vault(ring) as v:
        assert v.blind_index("bi", "v", context=CTX, bits=16) == b"i"
        assert v.blind_index_many("bi", ["a", "b"], context=CTX, bits=16, version=2) == [b"i"] * 2
        assert v.blind_index_candidates("bi", "v", context=CTX, bits=16) == [b"i", b"j"]
        assert v.blind_index("bi", "v", context=CTX, bits=16, kind="email") == b"i"
        assert v.blind_index_many("bi", ["a"], context=CTX, bits=16, kind="name") == [b"i"]
        assert v.blind_index_candidates("bi", "v", context=CTX, bits=16, kind="mobile") == [
            b"i",
            b"j",
        ]
    assert calls == [
        ("compute", "bi", "v", 16, None, None),
        ("compute_many", "bi", ("a", "b"), 16, 2, None),
        ("candidates", "bi", "v", 16, None),
        ("compute", "bi", "v", 16, None, "email"),
        ("compute_many", "bi", ("a",), 16, None, "name"),
        ("candidates", "bi", "v", 16, "mobile"),
    ]


def test_blind_index_kind_through_vault(ring: KeyRing) -> None:
    from vaultkit.blindindex import BlindIndexer, Compound

    ring.create_key("bi", Algorithm.HMAC_SM3)
    card, spaced = "6222021234567890128", "6222 0212 3456 7890 128"
    ctx = {"table": "customers", "column": "card_no"}
    with Vault(ring) as v:
        # per-kind normalization: a spaced card number indexes like the bare one
        assert v.blind_index("bi", spaced, context=ctx, bits=16, kind="card_no") == (
            v.blind_index("bi", card, context=ctx, bits=16, kind="card_no")
        )
        assert v.blind_index("bi", spaced, context=ctx, bits=16) != (
            v.blind_index("bi", card, context=ctx, bits=16)
        )
        many = v.blind_index_many("bi", [spaced, card], context=ctx, bits=16, kind="card_no")
        assert many == BlindIndexer(ring).compute_many(
            "bi", [spaced, card], context=ctx, bits=16, kind="card_no"
        )
        assert many[0] == many[1]
        # compound indexes: last 4 digits of the card and a birth year, queried from the parts
        c4y = Compound(("card_last4", "birth_year"))
        cctx = {"table": "customers", "column": "card_last4_birth_year"}
        whole = v.blind_index("bi", (card, "1949"), context=cctx, bits=8, kind=c4y)
        assert v.blind_index("bi", ("0128", "1949"), context=cctx, bits=8, kind=c4y) == whole
        assert v.blind_index_candidates("bi", ("0128", "1949"), context=cctx, bits=8, kind=c4y) == [
            whole
        ]


def test_reused_and_mutated_context_dicts(vault: Vault) -> None:
    ctx = {"table": "t", "row": "1"}
    c1 = vault.encrypt("sm4", b"a", context=ctx)
    ctx["row"] = "2"  # the same dict object, now another row
    c2 = vault.encrypt("sm4", b"b", context=ctx)
    assert vault.decrypt(c1, context={"table": "t", "row": "1"}) == b"a"
    assert vault.decrypt(c2, context={"row": "2", "table": "t"}) == b"b"
    with pytest.raises(DecryptionError):
        vault.decrypt(c2, context={"table": "t", "row": "1"})
    c3 = vault.encrypt("sm4", b"c", context={"table": "t", "row": b"2"})  # equal after encoding
    assert vault.decrypt(c3, context=ctx) == b"c"


def test_context_value_mutated_in_place_is_encoded_again(vault: Vault) -> None:
    ctx = {"table": "t", "row": bytearray(b"1")}
    vault.encrypt("sm4", b"a", context=ctx)
    ctx["row"][0] = ord("2")  # the same bytearray object, now another row
    c2 = vault.encrypt("sm4", b"b", context=ctx)
    assert vault.decrypt(c2, context={"table": "t", "row": "2"}) == b"b"
    with pytest.raises(DecryptionError):
        vault.decrypt(c2, context={"table": "t", "row": "1"})


def test_str_plaintext_with_a_lone_surrogate_is_refused_without_it(vault: Vault) -> None:
    for call in (
        lambda: vault.encrypt("sm4", "4111\ud800secret", context=CTX),
        lambda: vault.encrypt_many("sm4", ["ok", "4111\ud800secret"], context=CTX),
    ):
        with pytest.raises(InputFormatError) as exc:
            call()
        assert "secret" not in str(exc.value)
        assert exc.value.__context__ is None  # no UnicodeEncodeError holding the plaintext


def test_threads_share_a_vault_safely(ring: KeyRing) -> None:
    import threading

    out: list[list[bytes]] = []
    with Vault(ring) as v:

        def work() -> None:
            mine = [v.encrypt("sm4", b"t", context=CTX) for _ in range(300)]
            mine += v.encrypt_many("sm4", [b"t"] * 100, context=CTX)
            out.append(mine)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cts = [c for chunk in out for c in chunk]
        assert len(cts) == 1600 and len({c[58:70] for c in cts}) == 1600
        assert v.decrypt_many(cts, context=CTX) == [b"t"] * 1600


def test_many_accepts_any_iterable(vault: Vault) -> None:
    cts = vault.encrypt_many("sm4", (v for v in [b"a", "b"]), context=CTX)  # type: ignore[arg-type]
    assert vault.decrypt_many(iter(cts), context=CTX) == [b"a", b"b"]  # type: ignore[arg-type]


# -- issue 12, defect 3: no plaintext in an exception chain ---------------------------------------
BAD_TEXT = "\ud800 张三 110105199001011234"  # a lone surrogate: not encodable
NOT_UTF8 = b"\xff\xfe 110105199001011234"


@pytest.fixture
def chain_ring(tmp_path: Path) -> Iterator[KeyRing]:
    r = KeyRing.create(tmp_path / "chain.json", _kms())
    r.create_key("sm4")
    r.create_key("card", Algorithm.FF1_SM4)
    r.create_key("bi", Algorithm.HMAC_SM3)
    yield r
    r.close()


def _retired_ciphertexts(ring: KeyRing) -> list[bytes]:
    with Vault(ring) as v:
        cts = v.encrypt_many("sm4", [b"under v1", b"also v1"], context=CTX)
    ring.rotate_key("sm4")
    ring.retire_version("sm4", 1)
    return cts


def _retire(ring: KeyRing, key: str) -> KeyRing:
    """``key`` rotated and its version 1 retired (what the retired-candidate methods compute)."""
    ring.rotate_key(key)
    ring.retire_version(key, 1)
    return ring


# every public Vault method, with input that fails after the plaintext was seen
CHAIN_CASES = {
    "encrypt": lambda v, r: v.encrypt("sm4", BAD_TEXT, context=CTX),
    "encrypt_text": lambda v, r: v.encrypt_text("sm4", BAD_TEXT, context=CTX),
    "encrypt_many": lambda v, r: v.encrypt_many("sm4", ["ok", BAD_TEXT], context=CTX),
    "encrypt_text_many": lambda v, r: v.encrypt_text_many("sm4", [BAD_TEXT], context=CTX),
    "decrypt": lambda v, r: v.decrypt(_retired_ciphertexts(r)[0], context=CTX),
    "decrypt_many": lambda v, r: v.decrypt_many(_retired_ciphertexts(r), context=CTX),
    "decrypt_text": lambda v, r: v.decrypt_text(
        v.encrypt("sm4", NOT_UTF8, context=CTX), context=CTX
    ),
    "decrypt_text_many": lambda v, r: v.decrypt_text_many(
        v.encrypt_many("sm4", [b"ok", NOT_UTF8], context=CTX), context=CTX
    ),
    "tokenize": lambda v, r: v.tokenize("card", "6222 0212 3456 789X", format="card", context=CTX),
    "tokenize_many": lambda v, r: v.tokenize_many(
        "card", ["6222021234567890123", BAD_TEXT], format="card", context=CTX
    ),
    "detokenize": lambda v, r: v.detokenize("card", "62220X", format="card", context=CTX),
    "detokenize_many": lambda v, r: v.detokenize_many(
        "card", ["62220X"], format="card", context=CTX
    ),
    "blind_index": lambda v, r: v.blind_index(
        "bi", "11010519900101123X", context=CTX, bits=16, kind="cn_id"
    ),
    "blind_index_many": lambda v, r: v.blind_index_many(
        "bi", ["ok", BAD_TEXT], context=CTX, bits=16
    ),
    "blind_index_candidates": lambda v, r: v.blind_index_candidates(
        "bi", BAD_TEXT, context=CTX, bits=16
    ),
    "retired_index_candidates": lambda v, r: (
        _retire(r, "bi") and v.retired_index_candidates("bi", BAD_TEXT, context=CTX, bits=16)
    ),
    "retired_token_candidates": lambda v, r: (
        _retire(r, "card")
        and v.retired_token_candidates(
            "card", ["6222021234567890123", BAD_TEXT], format="card", context=CTX
        )
    ),
    "decrypt_masked": lambda v, r: v.decrypt_masked(
        v.encrypt("sm4", NOT_UTF8, context=CTX), context=CTX, kind="cn_id"
    ),
    "decrypt_masked_many": lambda v, r: v.decrypt_masked_many(
        v.encrypt_many("sm4", [b"ok", NOT_UTF8], context=CTX), context=CTX, kind="name"
    ),
    "detokenize_masked": lambda v, r: v.detokenize_masked(
        "card", "62220X", format="card", context=CTX
    ),
    "detokenize_masked_many": lambda v, r: v.detokenize_masked_many(
        "card", ["62220X"], format="card", context=CTX
    ),
}
NO_INPUT = {"close"}


def test_chain_cases_cover_every_public_vault_method() -> None:
    import inspect as _inspect

    public = {
        n for n, fn in vars(Vault).items() if not n.startswith("_") and _inspect.isfunction(fn)
    }
    assert public == set(CHAIN_CASES) | NO_INPUT


@pytest.mark.parametrize("method", sorted(CHAIN_CASES))
def test_no_plaintext_in_the_exception_chain(chain_ring: KeyRing, method: str) -> None:
    from vaultkit.errors import VaultkitError

    with Vault(chain_ring) as v:
        with pytest.raises(VaultkitError) as info:
            CHAIN_CASES[method](v, chain_ring)
    exc = info.value
    assert exc.__context__ is None and exc.__cause__ is None, (method, repr(exc.__context__))


def test_no_plaintext_in_the_envelope_exception_chains(chain_ring: KeyRing) -> None:
    from vaultkit.envelope import FieldCipher, encode_context
    from vaultkit.errors import VaultkitError

    key = chain_ring.primary_key("sm4")
    cipher = FieldCipher(key)
    ctx = encode_context(CTX)
    sealed = cipher.seal(b"secret", ctx)
    cases = [
        lambda: encode_context({"name": BAD_TEXT}),
        lambda: cipher.open(sealed, encode_context({"row": "2"})),
        lambda: cipher.open_many([sealed, sealed[:-1]], ctx),
        lambda: cipher.seal_many([b"ok", "not bytes"], ctx),  # type: ignore[list-item]
    ]
    for case in cases:
        with pytest.raises(VaultkitError) as info:
            case()
        assert info.value.__context__ is None and info.value.__cause__ is None, case


# -- issue 12, defect 5: a forged header learns nothing about the key ring ------------------------
def _forged(ct: bytes, key_id: int, version: int) -> bytes:
    import struct

    return ct[:2] + struct.pack(">II", key_id, version) + ct[10:]


def test_forged_header_naming_retired_or_destroyed_versions_is_opaque(ring: KeyRing) -> None:
    with Vault(ring) as v:
        genuine = v.encrypt("sm4", b"under v1", context=CTX)
    ring.rotate_key("sm4")
    with Vault(ring) as v:
        under_v2 = v.encrypt("sm4", b"under v2", context=CTX)
    ring.retire_version("sm4", 1)
    key_id = inspect(genuine).key_id
    forged = _forged(under_v2, key_id, 1)  # names retired v1, made under v2: does not verify
    with Vault(ring) as v:
        for call in (
            lambda: v.decrypt(forged, context=CTX),
            lambda: v.decrypt_many([forged], context=CTX),
            lambda: v.decrypt_many([under_v2, forged], context=CTX),
        ):
            with pytest.raises(DecryptionError) as info:
                call()
            assert "sm4" not in str(info.value) and "retired" not in str(info.value)
        # the genuine ciphertext under v1 authenticates, and only then is told it is retired
        with pytest.raises(KeyStateError, match="retired"):
            v.decrypt(genuine, context=CTX)
        with pytest.raises(KeyStateError, match="retired"):
            v.decrypt_many([under_v2, genuine], context=CTX)
        assert v.decrypt(genuine, context=CTX, force=True) == b"under v1"
    ring.destroy_version("sm4", 1, force=True)
    with Vault(ring) as v:
        for ct in (forged, genuine):  # a destroyed key authenticates nothing: both opaque
            with pytest.raises(DecryptionError) as info:
                v.decrypt(ct, context=CTX, force=True)
            assert "destroyed" not in str(info.value)


# -- an audit hook that fails: the call returns nothing, and its traceback holds no plaintext ----
def _frames_hold(exc: BaseException, secret: str) -> bool:
    """Whether a vaultkit frame of ``exc``'s traceback still has a local holding ``secret`` (what
    a caller catching the error could read from ``exc.__traceback__``)."""
    import vaultkit

    package = str(Path(vaultkit.__file__).parent)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(package):  # vaultkit's frames only
            for value in tb.tb_frame.f_locals.values():
                if secret in repr(value):
                    return True
        tb = tb.tb_next
    return False


def test_a_failing_audit_hook_leaves_no_plaintext_in_the_traceback(chain_ring: KeyRing) -> None:
    secret, card = "110105199001011234", "6222021234567890128"

    class Refused(Exception):
        pass

    def hook(event: AuditEvent) -> None:
        if event.operation in ("decrypt", "detokenize"):
            raise Refused  # the trail could not write the record: fail closed

    with Vault(chain_ring) as plain:
        ct = plain.encrypt("sm4", secret.encode(), context=CTX)
        token = plain.tokenize("card", card, format="card", context=CTX)
    with Vault(chain_ring, audit=hook) as v:
        calls = {
            "decrypt": (lambda: v.decrypt(ct, context=CTX), secret),
            "decrypt_text": (lambda: v.decrypt_text(ct, context=CTX), secret),
            "decrypt_many": (lambda: v.decrypt_many([ct, ct], context=CTX), secret),
            "decrypt_text_many": (lambda: v.decrypt_text_many([ct], context=CTX), secret),
            "detokenize": (
                lambda: v.detokenize("card", token, format="card", context=CTX),
                card,
            ),
            "detokenize_many": (
                lambda: v.detokenize_many("card", [token], format="card", context=CTX),
                card,
            ),
        }
        for name, (call, value) in calls.items():
            with pytest.raises(Refused) as info:
                call()
            assert not _frames_hold(info.value, value), name


@pytest.mark.parametrize("key", ["sm4", "aes"])
def test_decrypt_after_a_genuine_header_still_checks_commitment_and_tag(
    vault: Vault, key: str
) -> None:
    """Issue 16: a single decrypt finds a header it already checked in one dict read (the
    decrypt/encrypt ratio); a forged commitment or tag under that same salt is still refused."""
    from vaultkit.envelope._format import BINDING_LEN, HEADER_LEN

    ct = vault.encrypt(key, b"secret", context=CTX)
    assert vault.decrypt(ct, context=CTX) == b"secret"  # the header is now known
    forged = bytearray(ct)
    forged[BINDING_LEN] ^= 1  # commitment
    with pytest.raises(DecryptionError):
        vault.decrypt(bytes(forged), context=CTX)
    tampered = bytearray(ct)
    tampered[-1] ^= 1  # tag
    with pytest.raises(DecryptionError):
        vault.decrypt(bytes(tampered), context=CTX)
    body = bytearray(ct)
    body[HEADER_LEN + 12] ^= 1  # ciphertext
    with pytest.raises(DecryptionError):
        vault.decrypt(bytes(body), context=CTX)
    with pytest.raises(DecryptionError):
        vault.decrypt(ct, context={**CTX, "row": "43"})
    assert vault.decrypt(ct, context=CTX) == b"secret"
