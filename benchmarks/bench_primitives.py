"""Primitives (issues 2 and 3): FF1, SM4, SM4-GCM, AES-256-GCM and HMAC-SM3 against the peers a
user would otherwise pick, through vaultkit's public hazmat API on the default backend. Rows
"vaultkit (reference)" use the pure-Python backend as a baseline.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes as chashes
from cryptography.hazmat.primitives import hmac as chmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM as CryptoAESGCM

from vaultkit.hazmat import aead, bindings, hashes
from vaultkit.hazmat.ff1 import FF1
from vaultkit.hazmat.sm4 import SM4

BATCH = 100_000
MIB = 1 << 20
KEY16, KEY32 = bytes(range(16)), bytes(range(32))
FF3_PEER = "ff3 FF3-1 AES-256 (loop)"
PYFFX_PEER = "pyffx.Integer (loop)"


def _cards(n: int) -> list[str]:
    return [str(6222020000000000 + i * 7919)[:16] for i in range(n)]


def _fields(n: int, size: int = 32) -> tuple[list[bytes], list[bytes]]:
    blob = os.urandom(n * (size + 12))
    datas = [blob[i * size : (i + 1) * size] for i in range(n)]
    nonces = [blob[n * size + 12 * i : n * size + 12 * (i + 1)] for i in range(n)]
    return nonces, datas


def _ff1(cipher: str, backend: str | None = None) -> FF1:
    key = KEY32 if cipher == "AES" else KEY16
    if backend is None:
        return FF1(key, cipher=cipher)  # type: ignore[arg-type]
    with bindings.use(backend):  # type: ignore[arg-type]
        return FF1(key, cipher=cipher)  # type: ignore[arg-type]


def _ff3_loop(values: list[str]) -> Any:
    from ff3 import FF3Cipher

    c = FF3Cipher(KEY32.hex(), "CBD09280979564", radix=10)
    return lambda: [c.encrypt(v) for v in values]


def _pyffx_loop(values: list[str]) -> Any:
    import pyffx

    e = pyffx.Integer(KEY32, length=16)
    ints = [int(v) for v in values]
    return lambda: [e.encrypt(v) for v in ints]


# -- FF1 on 16-digit card numbers ---------------------------------------------------------------

FF1_BATCH_TARGETS = {"AES": 300.0, "SM4": 100.0}


def _group(name: str) -> pytest.MarkDecorator:
    return pytest.mark.benchmark(group=name)


@pytest.mark.parametrize(
    "cipher",
    [
        pytest.param("AES", marks=_group("FF1-AES256: encrypt_many, 16-digit cards")),
        pytest.param("SM4", marks=_group("FF1-SM4: encrypt_many, 16-digit cards")),
    ],
)
@pytest.mark.parametrize("row", ["vaultkit", "vaultkit (reference)", "ff3", "pyffx"])
def test_ff1_batch(bench: Any, cipher: str, row: str) -> None:
    name = "FF1-AES256" if cipher == "AES" else "FF1-SM4"
    if row == "vaultkit":
        values = _cards(bench.scaled(BATCH))
        f = _ff1(cipher)
        out = bench.run(lambda: f.encrypt_many(values), role="vaultkit", items=len(values),
                        label=f"vaultkit {name} encrypt_many",
                        targets={FF3_PEER: FF1_BATCH_TARGETS[cipher]})  # fmt: skip
        assert f.decrypt_many(out) == values
    elif row == "vaultkit (reference)":
        values = _cards(bench.scaled(2_000))
        f = _ff1(cipher, "reference")
        bench.run(lambda: f.encrypt_many(values), role="vaultkit", items=len(values),
                  label=f"vaultkit (reference) {name} encrypt_many", rounds=3)  # fmt: skip
    elif row == "ff3":
        values = _cards(bench.scaled(1_000))
        bench.run(_ff3_loop(values), role="peer", label=FF3_PEER, items=len(values), rounds=3)
    else:
        values = _cards(bench.scaled(300))
        bench.run(_pyffx_loop(values), role="peer", label=PYFFX_PEER, items=len(values), rounds=3)


@pytest.mark.benchmark(group="FF1: single encrypt per call, 16-digit card")
@pytest.mark.parametrize(
    "row",
    ["vaultkit AES", "vaultkit SM4", "C AES", "C SM4", "vaultkit (reference) AES", "ff3", "pyffx"],
)
def test_ff1_single(bench: Any, row: str) -> None:
    if row.startswith("C "):
        # the floor under FF1.encrypt: the bare C call with prebuilt arguments (issue 16 item 3:
        # what FF1.encrypt adds in Python is the distance between these rows)
        cipher = row.split()[-1]
        ffi, lib = bindings.native()
        impl = _ff1(cipher)._impl
        values = [bytes(int(c) for c in v) for v in _cards(bench.scaled(10_000))]
        out, name = ffi.new("uint8_t[]", 16), "FF1-AES256" if cipher == "AES" else "FF1-SM4"
        call, handle = lib.vk_ff1_crypt_one, impl._f
        bench.run(lambda: [call(handle, b"", 0, v, out, 16, 0) for v in values], role="vaultkit",
                  items=len(values), label=f"C only: vk_ff1_crypt_one {name}")  # fmt: skip
        return
    if row.startswith("vaultkit"):
        backend = "reference" if "reference" in row else None
        cipher = row.split()[-1]
        f = _ff1(cipher, backend)
        values = _cards(bench.scaled(10_000 if backend is None else 1_000))
        name = "FF1-AES256" if cipher == "AES" else "FF1-SM4"
        prefix = "vaultkit (reference)" if backend else "vaultkit"
        targets = {"ff3 FF3-1 AES-256 (loop)": 30.0} if row == "vaultkit AES" else None
        enc = f.encrypt
        bench.run(lambda: [enc(v) for v in values], role="vaultkit", items=len(values),
                  label=f"{prefix} {name} encrypt", targets=targets)  # fmt: skip
    elif row == "ff3":
        values = _cards(bench.scaled(1_000))
        bench.run(_ff3_loop(values), role="peer", label=FF3_PEER, items=len(values), rounds=3)
    else:
        values = _cards(bench.scaled(300))
        bench.run(_pyffx_loop(values), role="peer", label=PYFFX_PEER, items=len(values), rounds=3)


# -- SM4-GCM -----------------------------------------------------------------------------------

CRYPTO_SM4GCM_LOOP = "cryptography SM4-GCM (loop)"


def _crypto_sm4gcm(nonce: bytes, data: bytes, ad: bytes = b"") -> bytes:
    enc = Cipher(algorithms.SM4(KEY16), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(ad)
    return enc.update(data) + enc.finalize() + enc.tag


@pytest.mark.benchmark(group="SM4-GCM: encrypt_many, 32-byte fields")
@pytest.mark.parametrize("row", ["vaultkit", "vaultkit (reference)", "cryptography"])
def test_sm4gcm_fields(bench: Any, row: str) -> None:
    if row == "cryptography":
        nonces, datas = _fields(bench.scaled(20_000))
        bench.run(lambda: [_crypto_sm4gcm(n, d) for n, d in zip(nonces, datas)], role="peer",
                  label=CRYPTO_SM4GCM_LOOP, items=len(datas), rounds=3)  # fmt: skip
        return
    nonces, datas = _fields(bench.scaled(BATCH if row == "vaultkit" else 20_000))
    with bindings.use("reference" if "reference" in row else bindings.backend()):
        g = aead.SM4GCM(KEY16)
    targets = {CRYPTO_SM4GCM_LOOP: 20.0} if row == "vaultkit" else None
    out = bench.run(lambda: g.encrypt_many(nonces, datas), role="vaultkit", items=len(datas),
                    label=f"{row} SM4GCM.encrypt_many", targets=targets)  # fmt: skip
    assert out[0] == _crypto_sm4gcm(nonces[0], datas[0])


@pytest.mark.benchmark(group="SM4-GCM: single encrypt per call, 32-byte field")
@pytest.mark.parametrize("row", ["vaultkit", "cryptography"])
def test_sm4gcm_single(bench: Any, row: str) -> None:
    nonces, datas = _fields(bench.scaled(20_000))
    if row == "cryptography":
        bench.run(lambda: [_crypto_sm4gcm(n, d) for n, d in zip(nonces, datas)], role="peer",
                  label=CRYPTO_SM4GCM_LOOP, items=len(datas))  # fmt: skip
        return
    enc = aead.SM4GCM(KEY16).encrypt
    bench.run(lambda: [enc(n, d) for n, d in zip(nonces, datas)], role="vaultkit",
              label="vaultkit SM4GCM.encrypt", items=len(datas))  # fmt: skip


@pytest.mark.benchmark(group="SM4-GCM: 1 MiB message")
@pytest.mark.parametrize("row", ["vaultkit", "cryptography"])
def test_sm4gcm_bulk(bench: Any, row: str) -> None:
    data, nonce = os.urandom(bench.scaled(MIB, minimum=4096)), bytes(12)
    if row == "cryptography":
        bench.run(lambda: _crypto_sm4gcm(nonce, data), role="peer", label="cryptography SM4-GCM",
                  items=len(data), unit="byte", rounds=10)  # fmt: skip
        return
    g = aead.SM4GCM(KEY16)
    out = bench.run(lambda: g.encrypt(nonce, data), role="vaultkit", label="vaultkit SM4GCM",
                    items=len(data), unit="byte", rounds=10,
                    targets={"cryptography SM4-GCM": 3.0})  # fmt: skip
    assert out == _crypto_sm4gcm(nonce, data)


@pytest.mark.benchmark(group="SM4-ECB: bulk encryption")
@pytest.mark.parametrize("row", ["vaultkit", "cryptography", "gmssl"])
def test_sm4_ecb_bulk(bench: Any, row: str) -> None:
    if row == "gmssl":  # pure Python: a smaller buffer, compared per byte
        from gmssl.sm4 import SM4_ENCRYPT, CryptSM4

        c = CryptSM4()
        c.set_key(KEY16, SM4_ENCRYPT)
        blocks = [list(os.urandom(16)) for _ in range(bench.scaled(256, minimum=4))]
        bench.run(lambda: [c.one_round(c.sk, b) for b in blocks], role="peer",
                  label="gmssl CryptSM4 (pure Python)", items=16 * len(blocks), unit="byte",
                  rounds=3)  # fmt: skip
        return
    data = os.urandom(bench.scaled(MIB, minimum=4096) // 16 * 16)
    if row == "cryptography":
        enc = Cipher(algorithms.SM4(KEY16), modes.ECB()).encryptor()
        bench.run(lambda: enc.update(data), role="peer", label="cryptography SM4-ECB",
                  items=len(data), unit="byte", rounds=10)  # fmt: skip
        return
    c4 = SM4(KEY16)
    bench.run(lambda: c4.encrypt_blocks(data), role="vaultkit", label="vaultkit SM4.encrypt_blocks",
              items=len(data), unit="byte", rounds=10)  # fmt: skip


# -- AES-256-GCM -------------------------------------------------------------------------------


@pytest.mark.benchmark(group="AES-256-GCM: 32-byte fields")
@pytest.mark.parametrize("row", ["vaultkit many", "vaultkit single", "cryptography"])
def test_aes256gcm_fields(bench: Any, row: str) -> None:
    nonces, datas = _fields(bench.scaled(BATCH if row == "vaultkit many" else 20_000))
    if row == "cryptography":
        c = CryptoAESGCM(KEY32)
        bench.run(lambda: [c.encrypt(n, d, None) for n, d in zip(nonces, datas)], role="peer",
                  label="cryptography AESGCM (loop)", items=len(datas))  # fmt: skip
        return
    g = aead.AES256GCM(KEY32)
    if row == "vaultkit many":
        bench.run(lambda: g.encrypt_many(nonces, datas), role="vaultkit", items=len(datas),
                  label="vaultkit AES256GCM.encrypt_many")  # fmt: skip
    else:
        bench.run(lambda: [g.encrypt(n, d) for n, d in zip(nonces, datas)], role="vaultkit",
                  label="vaultkit AES256GCM.encrypt", items=len(datas))  # fmt: skip


@pytest.mark.benchmark(group="AES-256-GCM: 1 MiB message")
@pytest.mark.parametrize("row", ["vaultkit", "cryptography"])
def test_aes256gcm_bulk(bench: Any, row: str) -> None:
    data, nonce = os.urandom(bench.scaled(MIB, minimum=4096)), bytes(12)
    if row == "cryptography":
        c = CryptoAESGCM(KEY32)
        bench.run(lambda: c.encrypt(nonce, data, None), role="peer", label="cryptography AESGCM",
                  items=len(data), unit="byte", rounds=10)  # fmt: skip
        return
    g = aead.AES256GCM(KEY32)
    bench.run(lambda: g.encrypt(nonce, data), role="vaultkit", label="vaultkit AES256GCM",
              items=len(data), unit="byte", rounds=10)  # fmt: skip


# -- HMAC-SM3 ----------------------------------------------------------------------------------

CRYPTO_HMAC_LOOP = "cryptography HMAC(SM3) (loop)"


@pytest.mark.benchmark(group="HMAC-SM3: hmac_sm3_many, 32-byte messages")
@pytest.mark.parametrize("row", ["vaultkit", "vaultkit (reference)", "cryptography"])
def test_hmac_sm3(bench: Any, row: str) -> None:
    _, msgs = _fields(bench.scaled(BATCH if row == "vaultkit" else 20_000))
    if row == "cryptography":

        def loop() -> list[bytes]:
            out = []
            for m in msgs:
                h = chmac.HMAC(KEY32, chashes.SM3())
                h.update(m)
                out.append(h.finalize())
            return out

        bench.run(loop, role="peer", label=CRYPTO_HMAC_LOOP, items=len(msgs), rounds=3)
        return
    backend = "reference" if "reference" in row else bindings.backend()

    def many() -> list[bytes]:
        with bindings.use(backend):  # type: ignore[arg-type]
            return hashes.hmac_sm3_many(KEY32, msgs)

    targets = {CRYPTO_HMAC_LOOP: 10.0} if row == "vaultkit" else None
    out = bench.run(many, role="vaultkit", label=f"{row} hmac_sm3_many", items=len(msgs),
                    targets=targets)  # fmt: skip
    h = chmac.HMAC(KEY32, chashes.SM3())
    h.update(msgs[0])
    assert out[0] == h.finalize()
