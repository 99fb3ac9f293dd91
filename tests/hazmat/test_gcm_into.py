"""``_fast.gcm_into``: the stream's one-message-per-call GCM into reused buffers (AES-256-GCM of
4 KiB and more, through OpenSSL) gives the bytes of the batch path and releases nothing when a
tag does not verify."""

from __future__ import annotations

import os

from vaultkit.hazmat import _fast
from vaultkit.hazmat.aead import AES256GCM


def test_only_large_aes_messages_go_one_by_one() -> None:
    key = os.urandom(32)
    assert _fast.gcm_into("AES-256-GCM", key, 4096) is not None
    assert _fast.gcm_into("AES-256-GCM", key, 4095) is None
    assert _fast.gcm_into("SM4-GCM", os.urandom(16), 1 << 16) is None


def test_same_bytes_as_the_batch_path_and_a_failed_tag_wipes_the_output() -> None:
    key, nonce, ad = os.urandom(32), os.urandom(12), b"header core"
    into = _fast.gcm_into("AES-256-GCM", key, 1 << 16)
    assert into is not None
    data = os.urandom(5000)
    out = memoryview(bytearray(len(data) + 16 + 7))
    record = bytes(into.seal_into(nonce, memoryview(data), ad, out))
    assert record == AES256GCM(key).encrypt_many([nonce] * 3, [data] * 3, [ad] * 3)[0]
    plain = memoryview(bytearray(len(data) + 3))
    opened = into.open_into(nonce, memoryview(record), ad, plain)
    assert opened is not None and bytes(opened) == data
    bad = bytearray(record)
    bad[-1] ^= 1
    plain[:] = b"\xaa" * len(plain)
    assert into.open_into(nonce, memoryview(bytes(bad)), ad, plain) is None
    if hasattr(_fast._OpenSSLAESGCM, "decrypt_into"):  # else nothing was written into plain
        assert bytes(plain[: len(data)]) == bytes(len(data))
    assert into.open_into(nonce, memoryview(record[:15]), ad, plain) is None
    assert "key" in repr(into) and key.hex() not in repr(into)
