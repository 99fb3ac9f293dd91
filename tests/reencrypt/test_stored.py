"""The fast header classification agrees with vaultkit.envelope.inspect, and never takes
plaintext or damaged values for ciphertexts of another key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultkit import Vault, envelope
from vaultkit.errors import DecryptionError
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.reencrypt import Classifier, Form, classify, classify_token


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Vault:
    path = tmp_path_factory.mktemp("stored") / "ring.vk"
    ring = KeyRing.create(path, LocalKMS(passphrase="p", scrypt_n=2**12))
    ring.create_key("a")
    ring.create_key("b", algorithm="AES-256-GCM")
    ring.rotate_key("b")
    return Vault(ring)


@settings(max_examples=200, deadline=None)
@given(value=st.binary(max_size=64), key=st.sampled_from(["a", "b"]), text=st.booleans())
def test_agrees_with_inspect(vault: Vault, value: bytes, key: str, text: bool) -> None:
    ctx = {"table": "t", "column": "c"}
    ct = (vault.encrypt_text if text else vault.encrypt)(key, value, context=ctx)
    s = classify(ct)
    h = envelope.inspect(ct)
    assert s.form is (Form.TEXT if text else Form.BINARY)
    assert (s.key_id, s.version) == (h.key_id, h.version)
    assert classify(memoryview(ct) if isinstance(ct, bytes) else ct) == s
    cached = Classifier()
    assert cached(ct) == s and cached(ct) == s  # miss, then hit


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(max_size=120), st.binary(max_size=120)))
def test_whatever_inspect_accepts_is_never_taken_for_plaintext(value: str | bytes) -> None:
    # (the direction that matters: --from-plaintext must never encrypt a ciphertext again)
    s = classify(value)
    try:
        h = envelope.inspect(value)
    except DecryptionError:
        return
    assert s.is_ciphertext and (s.key_id, s.version) == (h.key_id, h.version)


def test_plain_values() -> None:
    assert classify(None).form is Form.NULL
    assert Classifier()(None).form is Form.NULL
    junk = "vk1." + "!" * 120  # long enough, but nothing decodes (used to raise IndexError)
    for v in ["", "13800138000", "vk1.", "vk1.!!!!", 42, b"short", "vk1." + "A" * 200, junk]:
        assert classify(v).form is Form.PLAINTEXT
        assert Classifier()(v).form is Form.PLAINTEXT


def test_token_form() -> None:
    assert classify_token("3:6222021234567890").version == 3
    assert classify_token("6222021234567890").form is Form.PLAINTEXT
    assert classify_token(None).form is Form.NULL
    assert classify_token("x:1").form is Form.PLAINTEXT
