"""Every Vault operation through a real ``vaultkit serve``: the RemoteVault answers exactly what
the in-process Vault over the same key ring answers, single and batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.conftest import Principals, Server, open_ring
from vaultkit.blindindex import Compound
from vaultkit.errors import DecryptionError, KeyNotFoundError, KeyStateError
from vaultkit.remote import RemoteVault
from vaultkit.vault import Vault

CTX = {"table": "customers", "column": "name", "row": b"\x00\x01"}
CARDS = ["6222020200112233446", "4111111111111111", "6212260200012345670"]
NAMES = ["张三", "李四", "Ann O'Neil", ""]


def test_encrypt_decrypt_single_both_forms(remote: RemoteVault, local: Vault) -> None:
    for value in ("张三", b"\x00\xff binary"):
        binary = remote.encrypt("c.name", value, context=CTX)
        text = remote.encrypt_text("c.name", value, context=CTX)
        assert isinstance(binary, bytes) and text.startswith("vk1.")
        raw = value.encode() if isinstance(value, str) else value
        for ct in (binary, text):
            assert remote.decrypt(ct, context=CTX) == local.decrypt(ct, context=CTX) == raw
        # and what the in-process Vault made, the service opens
        assert remote.decrypt(local.encrypt("c.name", value, context=CTX), context=CTX) == raw
    assert remote.decrypt_text(remote.encrypt("c.name", "张三", context=CTX), context=CTX) == "张三"


def test_encrypt_decrypt_batch(remote: RemoteVault, local: Vault) -> None:
    cts = remote.encrypt_many("c.name", NAMES, context=CTX)
    assert local.decrypt_text_many(cts, context=CTX) == NAMES
    assert remote.decrypt_text_many(cts, context=CTX) == NAMES
    assert remote.decrypt_many(cts, context=CTX) == [n.encode() for n in NAMES]
    contexts = [{"row": str(i)} for i in range(len(NAMES))]
    texts = remote.encrypt_text_many("c.name", [n.encode() for n in NAMES], contexts=contexts)
    assert local.decrypt_text_many(texts, contexts=contexts) == NAMES
    assert remote.decrypt_text_many(texts, contexts=contexts) == NAMES
    assert remote.encrypt_many("c.name", [], context=CTX) == []


def test_tokens_equal_in_process(remote: RemoteVault, local: Vault) -> None:
    token = remote.tokenize("c.card", CARDS[0], format="card", context=CTX)
    assert token == local.tokenize("c.card", CARDS[0], format="card", context=CTX)
    assert remote.detokenize("c.card", token, format="card", context=CTX) == CARDS[0]
    tokens = remote.tokenize_many("c.card", CARDS, format="card", context=CTX)
    assert tokens == local.tokenize_many("c.card", CARDS, format="card", context=CTX)
    assert remote.detokenize_many("c.card", tokens, format="card", context=CTX) == CARDS
    v1 = remote.tokenize("c.card", CARDS[0], format="card", context=CTX, version=1)
    assert v1 == token


def test_blind_indexes_equal_in_process(remote: RemoteVault, local: Vault) -> None:
    kw = {"context": CTX, "bits": 32}
    assert remote.blind_index("c.bidx", "abc", **kw) == local.blind_index("c.bidx", "abc", **kw)
    assert remote.blind_index("c.bidx", b"\x00raw", **kw) == local.blind_index(
        "c.bidx", b"\x00raw", **kw
    )
    assert remote.blind_index("c.bidx", CARDS[1], kind="card_no", **kw) == local.blind_index(
        "c.bidx", CARDS[1], kind="card_no", **kw
    )
    compound = Compound(("card_last4", "birth_year"))
    value = (CARDS[0], "1990")
    assert remote.blind_index("c.bidx", value, kind=compound, **kw) == local.blind_index(
        "c.bidx", value, kind=compound, **kw
    )
    assert remote.blind_index_many("c.bidx", CARDS, kind="card_no", **kw) == (
        local.blind_index_many("c.bidx", CARDS, kind="card_no", **kw)
    )
    assert remote.blind_index_candidates("c.bidx", "abc", **kw) == local.blind_index_candidates(
        "c.bidx", "abc", **kw
    )


def test_same_exceptions_as_in_process(remote: RemoteVault, local: Vault) -> None:
    ct = remote.encrypt_text("c.name", "张三", context=CTX)
    for vault in (remote, local):
        with pytest.raises(DecryptionError) as caught:
            vault.decrypt(ct, context={"table": "other"})
        assert str(caught.value) == "decryption failed"
        with pytest.raises(KeyNotFoundError):
            vault.encrypt("no.such.key", "x", context=CTX)
    bad = [ct, ct[:-4] + "AAAA"]
    with pytest.raises(DecryptionError) as remote_error:
        remote.decrypt_many(bad, context=CTX)
    with pytest.raises(DecryptionError) as local_error:
        local.decrypt_many(bad, context=CTX)
    assert str(remote_error.value) == str(local_error.value)


def test_retired_version_refused_then_forced(
    remote: RemoteVault, local: Vault, ring_path: Path
) -> None:
    ct = remote.encrypt("c.name", "张三", context=CTX)
    ring = open_ring(ring_path)
    ring.rotate_key("c.name")
    ring.retire_version("c.name", 1)
    ring.close()
    with pytest.raises(KeyStateError):
        remote.decrypt(ct, context=CTX)
    assert remote.decrypt(ct, context=CTX, force=True) == b"\xe5\xbc\xa0\xe4\xb8\x89"


def test_keys_metadata_without_material(remote: RemoteVault, local: Vault) -> None:
    info = remote.keys.key_info("c.name")
    assert info.algorithm.label == "SM4-GCM" and info.primary_version == 1
    assert remote.keys.readable_versions("c.name") == local.keys.readable_versions("c.name")
    assert "c.card" in remote.keys and "nope" not in remote.keys
    key = remote.keys.primary_key("c.name")
    with pytest.raises(KeyStateError):
        key.material


def test_masked_reveal_for_a_teller(
    server: Server, principals: Principals, remote: RemoteVault, ring_path: Path
) -> None:
    ct = remote.encrypt("c.name", "张三丰", context=CTX)
    token = remote.tokenize("c.card", CARDS[0], format="card", context=CTX)
    ring = open_ring(ring_path)
    with Vault(ring, principal="teller") as local_teller:
        want_name = local_teller.decrypt_masked(ct, context=CTX, kind="name")
        want_card = local_teller.detokenize_masked("c.card", token, format="card", context=CTX)
    ring.close()
    with RemoteVault(server.url, token=principals.tokens["teller"]) as teller:
        assert teller.decrypt_masked(ct, context=CTX, kind="name") == want_name != "张三丰"
        assert teller.decrypt_masked_many([ct, ct], context=CTX, kind="name") == [want_name] * 2
        got = teller.detokenize_masked("c.card", token, format="card", context=CTX)
        assert got == want_card and got != CARDS[0] and got.endswith(CARDS[0][-4:])
        assert teller.detokenize_masked_many("c.card", [token], format="card", context=CTX) == [
            want_card
        ]
        with pytest.raises(PermissionError):
            teller.decrypt(ct, context=CTX)
        with pytest.raises(PermissionError):
            teller.detokenize("c.card", token, format="card", context=CTX)
