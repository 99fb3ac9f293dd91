"""Official known-answer vectors from tests/vectors/standard_vectors.json, on every backend.

Covered here: FF1 (NIST samples 1-9, Rev. 1 domain minimums), SM4 (GB/T 32907 incl. the
1,000,000-iteration example), SM4 CBC/OFB/CFB/CTR and XTS (GB/T 17964-2021) composed from the
block cipher, SM4-GCM and SM4-CCM (RFC 8998), SM3, HMAC-SM3 (GM/T 0042) and AES-SIV (RFC 5297).
The identifier groups (GB 11643, GB 32100, Luhn, mobile) belong to vaultkit.identifiers and are
tested there.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.hazmat.hazmat_vectors import standard_vectors  # tests/hazmat/hazmat_vectors.py
from vaultkit.errors import DomainTooSmallError
from vaultkit.hazmat import aead, hashes
from vaultkit.hazmat.ff1 import FF1
from vaultkit.hazmat.sm4 import SM4

V = standard_vectors()
COVERED_HERE = {
    "ff1_nist_samples",
    "ff1_domain_minimums_rev1",
    "sm4_block_gbt32907",
    "sm4_modes_openssl",
    "sm4_gcm_ccm_rfc8998",
    "sm3",
    "hmac_sm3_gmt0042",
    "aes_siv_rfc5297",
}
COVERED_BY_IDENTIFIERS = {"cn_resident_id_gb11643", "cn_uscc_gb32100", "luhn", "cn_mobile"}


def test_every_group_is_covered() -> None:
    assert set(V) == COVERED_HERE | COVERED_BY_IDENTIFIERS


@pytest.mark.parametrize("v", V["ff1_nist_samples"], ids=lambda v: f"sample{v['sample']}")
def test_ff1_nist_samples(backend: str, v: dict[str, str]) -> None:
    assert v["cipher"].startswith("AES-")
    f = FF1(bytes.fromhex(v["key"]), cipher="AES", radix=int(v["radix"]), alphabet=v["alphabet"])
    tweak = bytes.fromhex(v["tweak"])
    assert f.encrypt(v["plaintext"], tweak) == v["ciphertext"]
    assert f.decrypt(v["ciphertext"], tweak) == v["plaintext"]
    assert f.encrypt_many([v["plaintext"]] * 3, tweak) == [v["ciphertext"]] * 3
    digits = [v["alphabet"].index(c) for c in v["plaintext"]]
    expected = [v["alphabet"].index(c) for c in v["ciphertext"]]
    assert f.encrypt(digits, tweak) == expected


@pytest.mark.parametrize("v", V["ff1_domain_minimums_rev1"], ids=lambda v: f"radix{v['radix']}")
def test_ff1_domain_minimums(backend: str, v: dict[str, str]) -> None:
    radix, minlen = int(v["radix"]), int(v["minlen_for_1e6"])
    assert radix**minlen == int(v["radix_pow_minlen"]) >= 1_000_000 > radix ** (minlen - 1)
    f = FF1(bytes(16), radix=radix)
    assert f.min_length == minlen
    ok, short = [1] * minlen, [1] * (minlen - 1)
    assert f.decrypt(f.encrypt(ok)) == ok
    with pytest.raises(DomainTooSmallError):
        f.encrypt(short)
    with pytest.raises(DomainTooSmallError):
        f.decrypt(short)
    legacy = [1] * int(v["minlen_for_100_legacy"])  # allowed by SP 800-38G (2016), not Rev. 1
    with pytest.raises(DomainTooSmallError):
        f.encrypt(legacy)
    if radix <= 62:
        with pytest.raises(DomainTooSmallError):
            f.encrypt_many(["1" * minlen, "1" * (minlen - 1)])


@pytest.mark.slow
@pytest.mark.parametrize("v", V["sm4_block_gbt32907"], ids=lambda v: v["name"])
def test_sm4_block(backend: str, v: dict[str, str]) -> None:
    # The 1,000,000-iteration example runs in full on every backend: about 1 s on the reference
    # (one OpenSSL ECB update per block) and less on the native one.
    c = SM4(bytes.fromhex(v["key"]))
    block = bytes.fromhex(v["plaintext"])
    for _ in range(int(v["iterations"])):
        block = c.encrypt_block(block)
    assert block.hex() == v["ciphertext"]
    if v["iterations"] == "1":
        assert c.decrypt_block(block).hex() == v["plaintext"]
        assert c.encrypt_blocks(bytes.fromhex(v["plaintext"]) * 3).hex() == v["ciphertext"] * 3


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b))


def _compose(mode: str, c: SM4, iv: bytes, data: bytes) -> bytes:
    """SP 800-38A modes built from the block cipher (data is whole blocks except for CTR)."""
    blocks = [data[i : i + 16] for i in range(0, len(data), 16)]
    out, prev = [], iv
    if mode == "CBC":  # SP 800-38A 6.2
        for p in blocks:
            prev = c.encrypt_block(_xor(p, prev))
            out.append(prev)
    elif mode == "OFB":  # SP 800-38A 6.4
        for p in blocks:
            prev = c.encrypt_block(prev)
            out.append(_xor(p, prev))
    elif mode == "CFB128":  # SP 800-38A 6.3 with s = 128
        for p in blocks:
            prev = _xor(p, c.encrypt_block(prev))
            out.append(prev)
    elif mode == "CTR":  # SP 800-38A 6.5, counter = IV + i (mod 2^128)
        start = int.from_bytes(iv, "big")
        counters = b"".join(
            ((start + i) % (1 << 128)).to_bytes(16, "big") for i in range(len(blocks))
        )
        stream = c.encrypt_blocks(counters)
        return _xor(data, stream)
    else:
        raise AssertionError(mode)
    return b"".join(out)


def _xts_gb(key: bytes, iv: bytes, data: bytes) -> bytes:
    """XTS as in GB/T 17964-2021: K = K1 || K2, T_0 = E_K2(IV), C_j = E_K1(P_j xor T_j) xor T_j,
    ciphertext stealing for a partial last block (as IEEE 1619), but T_{j+1} = T_j * alpha in
    GCM's bit-reflected order: T >> 1, xor 0xE1 || 0^120 when the dropped bit was 1."""
    k1, k2 = SM4(key[:16]), SM4(key[16:])
    full, rest = divmod(len(data), 16)
    tweaks: list[bytes] = []
    c_int = int.from_bytes(k2.encrypt_block(iv), "big")
    for _ in range(full + 1):
        tweaks.append(c_int.to_bytes(16, "big"))
        c_int = (c_int >> 1) ^ ((0xE1 << 120) if c_int & 1 else 0)
    out = [
        _xor(k1.encrypt_block(_xor(data[16 * j : 16 * j + 16], tweaks[j])), tweaks[j])
        for j in range(full)
    ]
    if rest:  # ciphertext stealing
        stolen = out[full - 1]
        last = data[16 * full :] + stolen[rest:]
        out[full - 1] = _xor(k1.encrypt_block(_xor(last, tweaks[full])), tweaks[full])
        out.append(stolen[:rest])
    return b"".join(out)


def test_mode_groups_known() -> None:
    assert {v["mode"].split()[0] for v in V["sm4_modes_openssl"]} == {
        "CBC",
        "OFB",
        "CFB128",
        "CTR",
        "XTS",
    }


@pytest.mark.parametrize(
    "v", V["sm4_modes_openssl"], ids=lambda v: f"{v['mode'].split()[0]}-{len(v['plaintext'])}"
)
def test_sm4_modes_composed(backend: str, v: dict[str, str]) -> None:
    key, iv, data = (bytes.fromhex(v[k]) for k in ("key", "iv", "plaintext"))
    if v["mode"].startswith("XTS"):
        got = _xts_gb(key, iv, data)
    else:
        got = _compose(v["mode"], SM4(key), iv, data)
    assert got.hex().upper() == v["ciphertext"].upper()


@pytest.mark.parametrize("v", V["sm4_gcm_ccm_rfc8998"], ids=lambda v: v["mode"])
def test_rfc8998(backend: str, v: dict[str, str]) -> None:
    key, iv, ad = (bytes.fromhex(v[k]) for k in ("key", "iv", "aad"))
    pt = bytes.fromhex(v["plaintext"])
    cls: Any = {"SM4-GCM": aead.SM4GCM, "SM4-CCM": aead.SM4CCM}[v["mode"]]
    a = cls(key)
    expected = bytes.fromhex(v["ciphertext"] + v["tag"])
    assert a.encrypt(iv, pt, ad) == expected
    assert a.decrypt(iv, expected, ad) == pt
    assert a.encrypt_many([iv], [pt], [ad]) == [expected]


@pytest.mark.parametrize("v", V["sm3"], ids=lambda v: str(len(v["message_hex"]) // 2))
def test_sm3(backend: str, v: dict[str, str]) -> None:
    msg = bytes.fromhex(v["message_hex"])
    assert msg == v["message_ascii"].encode()
    assert hashes.sm3(msg).hex() == v["digest"]
    assert hashes.sm3_many([msg, msg]) == [bytes.fromhex(v["digest"])] * 2


@pytest.mark.parametrize("v", V["hmac_sm3_gmt0042"], ids=lambda v: str(len(v["key"]) // 2))
def test_hmac_sm3(backend: str, v: dict[str, str]) -> None:
    key, msg = bytes.fromhex(v["key"]), bytes.fromhex(v["message_hex"])
    assert hashes.hmac_sm3(key, msg).hex() == v["mac"]
    assert hashes.hmac_sm3_many(key, [msg, b"", msg])[2].hex() == v["mac"]


@pytest.mark.parametrize("v", V["aes_siv_rfc5297"], ids=lambda v: v["name"])
def test_aes_siv(v: dict[str, str]) -> None:
    s = aead.AESSIV(bytes.fromhex(v["key"]))
    components = [bytes.fromhex(v[k]) for k in ("ad1", "ad2", "nonce") if k in v]
    pt = bytes.fromhex(v["plaintext"])
    out = s.encrypt(pt, components)
    assert out.hex() == v["siv_tag"] + v["ciphertext"]
    if "output" in v:
        assert out.hex() == v["output"]
    assert s.decrypt(out, components) == pt
