"""Golden ciphertexts (tests/golden/envelope): every vaultkit version must still decrypt them.

Also checks docs/envelope.md byte by byte with independent code: subkey and commitment are
re-derived with hashlib/hmac (HMAC-SHA256) or gmssl's SM3 (HMAC-SM3, RFC 2104) and the field is
opened with cryptography's GCM, not with vaultkit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from gmssl import sm3 as gmssl_sm3

from vaultkit import Vault
from vaultkit.envelope import inspect
from vaultkit.errors import DecryptionError
from vaultkit.keys import Algorithm, KeyRing, LocalKMS

GOLDEN = Path(__file__).parent.parent / "golden" / "envelope"
CASES = json.loads((GOLDEN / "vectors.json").read_text())["cases"]


def _ctx(data: dict) -> dict[str, str | bytes]:
    return {k: bytes.fromhex(v["hex"]) if isinstance(v, dict) else v for k, v in data.items()}


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    copy = tmp_path_factory.mktemp("golden") / "keyring.json"
    shutil.copy(GOLDEN / "keyring.json", copy)  # never touch the frozen file
    passphrase = (GOLDEN / "passphrase.txt").read_text().strip()
    return KeyRing.open(copy, LocalKMS(passphrase=passphrase))


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 6
    assert {c["made_by"] for c in CASES} == {"encrypt", "encrypt_many"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['key']}-{c['binary_hex'][:20]}")
def test_golden_decrypts(ring: KeyRing, case: dict) -> None:
    ctx = _ctx(case["context"])
    plaintext = bytes.fromhex(case["plaintext_hex"])
    binary = bytes.fromhex(case["binary_hex"])
    with Vault(ring) as v:
        assert v.decrypt(binary, context=ctx) == plaintext
        assert v.decrypt(case["text"], context=ctx) == plaintext
        with pytest.raises(DecryptionError):
            v.decrypt(binary, context={**ctx, "extra": "x"})


def _hmac_sm3(key: bytes, data: bytes) -> bytes:
    def sm3(m: bytes) -> bytes:
        return bytes.fromhex(gmssl_sm3.sm3_hash(list(m)))

    key = key.ljust(64, b"\x00")
    inner = sm3(bytes(b ^ 0x36 for b in key) + data)
    return sm3(bytes(b ^ 0x5C for b in key) + inner)


def _encode_context(ctx: dict[str, str | bytes]) -> bytes:
    out = struct.pack(">I", len(ctx))
    for k in sorted(ctx, key=lambda s: s.encode()):
        v = ctx[k]
        vb = v.encode() if isinstance(v, str) else v
        out += struct.pack(">I", len(k.encode())) + k.encode() + struct.pack(">I", len(vb)) + vb
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['key']}-{c['binary_hex'][:20]}")
def test_format_matches_the_documentation(ring: KeyRing, case: dict) -> None:
    ct = bytes.fromhex(case["binary_hex"])
    version, wire, key_id, key_version = struct.unpack(">BBII", ct[:10])
    h = inspect(ct)
    assert (version, wire, key_id, key_version) == (
        1, h.algorithm.wire_id, h.key_id, h.version
    )  # fmt: skip
    dek = ring.key_by_id(key_id, key_version).material
    binding, commitment = ct[:26], ct[26:58]
    nonce, body = ct[58:70], ct[70:]
    ad = ct[:58] + _encode_context(_ctx(case["context"]))
    if h.algorithm is Algorithm.AES_256_GCM:
        mac = lambda data: hmac.new(dek, data, hashlib.sha256).digest()  # noqa: E731
        subkey = mac(b"vaultkit/v1/enc\x00" + binding)
        plain = AESGCM(subkey).decrypt(nonce, body, ad)
    else:
        assert h.algorithm is Algorithm.SM4_GCM
        mac = lambda data: _hmac_sm3(dek, data)  # noqa: E731
        subkey = mac(b"vaultkit/v1/enc\x00" + binding)[:16]
        dec = Cipher(algorithms.SM4(subkey), modes.GCM(nonce, body[-16:])).decryptor()
        dec.authenticate_additional_data(ad)
        plain = dec.update(body[:-16]) + dec.finalize()
    assert commitment == mac(b"vaultkit/v1/commit\x00" + binding)
    assert plain == bytes.fromhex(case["plaintext_hex"])
    assert len(ct) == 70 + len(plain) + 16
