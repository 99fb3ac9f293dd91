"""Native cipher backend (docs/native.md): the C batch and bulk paths measured at the backend
interface (``_native_cipher``, no public-API argument checking), against the peers a user would
otherwise call: cryptography's SM4 and AES-GCM. The public-API rows are in bench_primitives.py.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultkit.hazmat.bindings import _native_cipher

KEY16, KEY32 = bytes(range(16)), bytes(range(32))
BATCH = 100_000
MIB = 1 << 20
SM4GCM_LOOP = "cryptography Cipher(SM4, GCM) (loop)"
AESGCM_LOOP = "cryptography AESGCM (loop)"


def _fields(n: int, size: int = 32) -> tuple[list[bytes], list[bytes]]:
    blob = os.urandom(n * (size + 12))
    datas = [blob[i * size : (i + 1) * size] for i in range(n)]
    nonces = [blob[n * size + 12 * i : n * size + 12 * (i + 1)] for i in range(n)]
    return nonces, datas


def _sm4gcm(nonce: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.SM4(KEY16), modes.GCM(nonce)).encryptor()
    return enc.update(data) + enc.finalize() + enc.tag


@pytest.mark.benchmark(group="cipher backend: SM4-GCM seal_many, 32-byte fields")
@pytest.mark.parametrize("row", ["seal_many", "open_many", "cryptography"])
def test_sm4gcm_batch(bench: Any, row: str) -> None:
    if row == "cryptography":
        nonces, datas = _fields(bench.scaled(20_000))
        bench.run(lambda: [_sm4gcm(n, d) for n, d in zip(nonces, datas)], role="peer",
                  label=SM4GCM_LOOP, items=len(datas), rounds=3)  # fmt: skip
        return
    nonces, datas = _fields(bench.scaled(BATCH))
    ads = [b""] * len(datas)
    g = _native_cipher.Gcm("SM4", KEY16)
    if row == "seal_many":
        out = bench.run(lambda: g.seal_many(nonces, datas, ads), role="vaultkit",
                        label="vaultkit native Gcm.seal_many", items=len(datas),
                        targets={SM4GCM_LOOP: 20.0})  # fmt: skip
        assert out[0] == _sm4gcm(nonces[0], datas[0])
    else:
        sealed = g.seal_many(nonces, datas, ads)
        out = bench.run(lambda: g.open_many(nonces, sealed, ads), role="vaultkit",
                        label="vaultkit native Gcm.open_many", items=len(datas))  # fmt: skip
        assert out == datas


@pytest.mark.benchmark(group="cipher backend: AES-256-GCM seal_many, 32-byte fields")
@pytest.mark.parametrize("row", ["seal_many", "cryptography"])
def test_aesgcm_batch(bench: Any, row: str) -> None:
    nonces, datas = _fields(bench.scaled(BATCH))
    if row == "cryptography":
        c = AESGCM(KEY32)
        bench.run(lambda: [c.encrypt(n, d, None) for n, d in zip(nonces, datas)], role="peer",
                  label=AESGCM_LOOP, items=len(datas))  # fmt: skip
        return
    g = _native_cipher.Gcm("AES", KEY32)
    ads = [b""] * len(datas)
    out = bench.run(lambda: g.seal_many(nonces, datas, ads), role="vaultkit",
                    label="vaultkit native Gcm.seal_many (AES-256)", items=len(datas),
                    targets={AESGCM_LOOP: 1.0})  # fmt: skip
    assert out[0] == AESGCM(KEY32).encrypt(nonces[0], datas[0], None)


@pytest.mark.benchmark(group="cipher backend: SM4-GCM seal, 1 MiB")
@pytest.mark.parametrize("row", ["native", "cryptography"])
def test_sm4gcm_bulk(bench: Any, row: str) -> None:
    size = MIB if not bench.smoke else 64 * 1024
    data, nonce = os.urandom(size), os.urandom(12)
    if row == "cryptography":
        bench.run(lambda: _sm4gcm(nonce, data), role="peer", label="cryptography SM4-GCM",
                  items=size, unit="byte")  # fmt: skip
        return
    g = _native_cipher.Gcm("SM4", KEY16)
    out = bench.run(lambda: g.seal(nonce, data, b""), role="vaultkit",
                    label="vaultkit native Gcm.seal (SM4)", items=size, unit="byte",
                    targets={"cryptography SM4-GCM": 3.0})  # fmt: skip
    assert out == _sm4gcm(nonce, data)


@pytest.mark.benchmark(group="cipher backend: SM4-ECB, 1 MiB")
@pytest.mark.parametrize("row", ["native", "cryptography"])
def test_sm4_ecb_bulk(bench: Any, row: str) -> None:
    size = MIB if not bench.smoke else 64 * 1024
    data = os.urandom(size)
    if row == "cryptography":
        enc = Cipher(algorithms.SM4(KEY16), modes.ECB()).encryptor()
        bench.run(lambda: enc.update(data), role="peer", label="cryptography SM4-ECB",
                  items=size, unit="byte")  # fmt: skip
        return
    c = _native_cipher.BlockCipher("SM4", KEY16)
    bench.run(lambda: c.encrypt_blocks(data), role="vaultkit", label="vaultkit native SM4 ECB",
              items=size, unit="byte", targets={"cryptography SM4-ECB": 3.0})  # fmt: skip
