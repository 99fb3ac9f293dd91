"""Streaming (issue 8): vaultkit.stream throughput against cryptography on the same data.

* SM4-GCM stream (chunks sealed on both cores by the native backend) vs cryptography's SM4-GCM
  streaming encryptor over the same bytes (target 3x);
* AES-256-GCM stream vs cryptography ``AESGCM.encrypt`` on raw 64 KiB chunks, no framing, no
  I/O (target 0.9x, issue 16: framing overhead at most 10%).

The stream reads from an in-memory file and writes to a sink that discards, so the rows measure
the stream's own work, not a disk.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultkit import stream
from vaultkit.keys import LocalKMS

MIB = 1 << 20
CHUNK = 65536
SM4_PEER = "cryptography SM4-GCM (streaming encryptor)"
AES_PEER = "cryptography AESGCM (raw 64 KiB chunks)"


class _Null(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return len(b)


def _kms() -> LocalKMS:
    """A LocalKMS over a random key file (read at construction, then removed)."""
    fd, path = tempfile.mkstemp()
    try:
        os.write(fd, os.urandom(32))
        os.close(fd)
        kms = LocalKMS(key_file=path)
    finally:
        os.unlink(path)
    kms.initialize()
    return kms


def _data(bench: Any) -> bytes:
    return os.urandom(bench.scaled(64 * MIB, minimum=CHUNK * 4))


def _stream_encrypt(data: bytes, algorithm: str) -> Any:
    kms = _kms()
    return lambda: stream.encrypt(io.BytesIO(data), _Null(), vault=kms, algorithm=algorithm)


@pytest.mark.benchmark(group="SM4-GCM stream: encrypt 64 MiB")
@pytest.mark.parametrize("row", ["vaultkit", "peer"])
def test_sm4_gcm_stream_encrypt(bench: Any, row: str) -> None:
    data = _data(bench)
    if row == "vaultkit":
        fn = _stream_encrypt(data, "SM4-GCM")
        bench.run(
            fn,
            role="vaultkit",
            label="vaultkit.stream SM4-GCM",
            items=len(data),
            unit="byte",
            targets={SM4_PEER: 3.0},
        )
        return
    key, nonce = os.urandom(16), os.urandom(12)
    view = memoryview(data)

    def peer() -> bytes:
        enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        sink = _Null()
        for i in range(0, len(view), CHUNK):
            sink.write(enc.update(view[i : i + CHUNK]))
        enc.finalize()
        return enc.tag

    bench.run(peer, role="peer", label=SM4_PEER, items=len(data), unit="byte")


@pytest.mark.benchmark(group="SM4-GCM stream: decrypt 64 MiB")
@pytest.mark.parametrize("row", ["vaultkit", "peer"])
def test_sm4_gcm_stream_decrypt(bench: Any, row: str) -> None:
    data = _data(bench)
    if row == "vaultkit":
        kms = _kms()
        blob = io.BytesIO()
        stream.encrypt(io.BytesIO(data), blob, vault=kms)
        sealed = blob.getvalue()
        bench.run(
            lambda: stream.decrypt(io.BytesIO(sealed), _Null(), vault=kms),
            role="vaultkit",
            label="vaultkit.stream SM4-GCM",
            items=len(data),
            unit="byte",
            targets={SM4_PEER: 3.0},
        )
        return
    key, nonce = os.urandom(16), os.urandom(12)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    ct = enc.update(data) + enc.finalize()
    tag = enc.tag
    view = memoryview(ct)

    def peer() -> None:
        dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        sink = _Null()
        for i in range(0, len(view), CHUNK):
            sink.write(dec.update(view[i : i + CHUNK]))
        dec.finalize()

    bench.run(peer, role="peer", label=SM4_PEER, items=len(data), unit="byte")


@pytest.mark.benchmark(group="AES-256-GCM stream: encrypt 64 MiB, 64 KiB chunks")
@pytest.mark.parametrize("row", ["vaultkit", "peer"])
def test_aes_gcm_stream_encrypt(bench: Any, row: str) -> None:
    data = _data(bench)
    if row == "vaultkit":
        fn = _stream_encrypt(data, "AES-256-GCM")
        bench.run(
            fn,
            role="vaultkit",
            label="vaultkit.stream AES-256-GCM",
            items=len(data),
            unit="byte",
            targets={AES_PEER: 0.9},
        )
        return
    aes, nonce, view = AESGCM(os.urandom(32)), os.urandom(12), memoryview(data)

    def peer() -> None:
        sink = _Null()
        for i in range(0, len(view), CHUNK):
            sink.write(aes.encrypt(nonce, view[i : i + CHUNK], None))

    bench.run(peer, role="peer", label=AES_PEER, items=len(data), unit="byte")
