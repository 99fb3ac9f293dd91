"""One CPU path of the native core (issue 16, item 2): SM4-ECB, SM4-GCM 1 MiB, SM4-GCM fields and
FF1-SM4 batches on whatever SM4 path this process runs, each with its peer in the same run.

``make bench`` runs this file once per path, forcing it with ``VAULTKIT_CPU_MASK`` (the driver is
``benchmarks/paths.py``: gfni-avx512, gfni-avx2, vaes-avx2, aesni-avx2 = the Hygon class, portable);
the group names carry the path (``vk_sm4_impl()``), so each run's tables are a section of
RESULTS.md. ``make test`` runs it once on the default path as a smoke test.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from vaultkit.hazmat import aead, bindings
from vaultkit.hazmat.ff1 import FF1

KEY16, KEY32 = bytes(range(16)), bytes(range(32))
MIB = 1 << 20
BATCH = 100_000
FF3_PEER = "ff3 FF3-1 AES-256 (loop)"
SM4GCM_PEER = "cryptography SM4-GCM"
SM4GCM_LOOP = "cryptography SM4-GCM (loop)"
ECB_PEER = "cryptography SM4-ECB"
CTR_PEER = "cryptography SM4-CTR"
# issue 16: the targets every path must meet (the aesni-avx2 path is the Hygon C86 class)
TARGET_GCM_BULK = 4.0
TARGET_GCM_FIELDS = 15.0
TARGET_FF1_BATCH = 100.0


def sm4_path() -> str:
    """The SM4 path this process runs (``vk_sm4_impl()``; "reference" without the native core)."""
    if "native" not in bindings.available():
        return "reference"
    ffi, lib = bindings.native()
    return str(ffi.string(lib.vk_sm4_impl()).decode())


PATH = sm4_path()


def _group(what: str) -> pytest.MarkDecorator:
    return pytest.mark.benchmark(group=f"CPU path {PATH}: {what}")


def _crypto_sm4gcm(nonce: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.SM4(KEY16), modes.GCM(nonce)).encryptor()
    return enc.update(data) + enc.finalize() + enc.tag


def _size(bench: Any) -> int:
    return MIB if not bench.smoke else 64 * 1024


@_group("SM4-ECB and SM4-CTR, 1 MiB")
@pytest.mark.parametrize("row", ["vaultkit", "ecb", "ctr"])
def test_sm4_bulk(bench: Any, row: str) -> None:
    size = _size(bench)
    data = os.urandom(size)
    if row == "ecb":
        enc = Cipher(algorithms.SM4(KEY16), modes.ECB()).encryptor()
        bench.run(lambda: enc.update(data), role="peer", label=ECB_PEER, items=size, unit="byte")
        return
    if row == "ctr":
        ctr = Cipher(algorithms.SM4(KEY16), modes.CTR(bytes(16))).encryptor()
        bench.run(lambda: ctr.update(data), role="peer", label=CTR_PEER, items=size, unit="byte")
        return
    from vaultkit.hazmat.sm4 import SM4

    c = SM4(KEY16)
    out = bench.run(lambda: c.encrypt_blocks(data), role="vaultkit", unit="byte", items=size,
                    label="vaultkit SM4.encrypt_blocks (ECB = the CTR keystream)")  # fmt: skip
    assert out[:16] == Cipher(algorithms.SM4(KEY16), modes.ECB()).encryptor().update(data[:16])


@_group("SM4-GCM, 1 MiB message")
@pytest.mark.parametrize("row", ["vaultkit", "cryptography"])
def test_sm4gcm_bulk(bench: Any, row: str) -> None:
    size = _size(bench)
    data, nonce = os.urandom(size), os.urandom(12)
    if row == "cryptography":
        bench.run(lambda: _crypto_sm4gcm(nonce, data), role="peer", label=SM4GCM_PEER,
                  items=size, unit="byte")  # fmt: skip
        return
    g = aead.SM4GCM(KEY16)
    out = bench.run(lambda: g.encrypt(nonce, data), role="vaultkit", label="vaultkit SM4GCM",
                    items=size, unit="byte", targets={SM4GCM_PEER: TARGET_GCM_BULK})  # fmt: skip
    assert out == _crypto_sm4gcm(nonce, data)


@_group("SM4-GCM encrypt_many, 32-byte fields")
@pytest.mark.parametrize("row", ["vaultkit", "cryptography"])
def test_sm4gcm_fields(bench: Any, row: str) -> None:
    n = bench.scaled(BATCH if row == "vaultkit" else BATCH // 5)
    blob = os.urandom(n * 44)
    datas = [blob[i * 32 : (i + 1) * 32] for i in range(n)]
    nonces = [blob[n * 32 + 12 * i : n * 32 + 12 * (i + 1)] for i in range(n)]
    if row == "cryptography":
        bench.run(lambda: [_crypto_sm4gcm(a, b) for a, b in zip(nonces, datas)], role="peer",
                  label=SM4GCM_LOOP, items=n, rounds=3)  # fmt: skip
        return
    g = aead.SM4GCM(KEY16)
    out = bench.run(lambda: g.encrypt_many(nonces, datas), role="vaultkit", items=n,
                    label="vaultkit SM4GCM.encrypt_many",
                    targets={SM4GCM_LOOP: TARGET_GCM_FIELDS})  # fmt: skip
    assert out[0] == _crypto_sm4gcm(nonces[0], datas[0])


def _cards(n: int) -> list[str]:
    return [str(6222020000000000 + i * 7919)[:16] for i in range(n)]


@_group("FF1-SM4 encrypt_many, 16-digit cards")
@pytest.mark.parametrize("row", ["vaultkit", "ff3"])
def test_ff1_batch(bench: Any, row: str) -> None:
    if row == "ff3":
        from ff3 import FF3Cipher

        values = _cards(bench.scaled(1_000))
        c = FF3Cipher(KEY32.hex(), "CBD09280979564", radix=10)
        bench.run(lambda: [c.encrypt(v) for v in values], role="peer", label=FF3_PEER,
                  items=len(values), rounds=3)  # fmt: skip
        return
    values = _cards(bench.scaled(BATCH))
    f = FF1(KEY16, cipher="SM4")
    out = bench.run(lambda: f.encrypt_many(values), role="vaultkit", items=len(values),
                    label="vaultkit FF1-SM4 encrypt_many",
                    targets={FF3_PEER: TARGET_FF1_BATCH})  # fmt: skip
    assert f.decrypt_many(out) == values
