"""Native cipher area (native/src/sm4*.c, aes*.c, ghash*.c, gcm*.c) against the reference backend
and cryptography/OpenSSL: standard vectors, differential tests, every CPU path."""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.native._asan import run_under_asan
from vaultkit.hazmat import bindings
from vaultkit.hazmat.bindings import _native_cipher, _reference_cipher

FUZZ_ROUNDS = int(os.environ.get("VAULTKIT_FUZZ_ROUNDS", "10000"))
ROOT = Path(__file__).resolve().parents[2]


def test_native_module_is_built() -> None:
    assert "native" in bindings.available(), (
        "native extension missing: bash scripts/build-native.sh"
    )


def test_sm4_standard_vector() -> None:
    # GB/T 32907-2016 Appendix A, example 1 and example 2 (1,000,000 iterations in C below)
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    c = _native_cipher.BlockCipher("SM4", key)
    assert c.encrypt_blocks(key).hex() == "681edf34d206965e86b3e94f536e4246"
    assert c.decrypt_blocks(bytes.fromhex("681edf34d206965e86b3e94f536e4246")) == key


@pytest.mark.parametrize(
    ("key", "ct"),
    [  # FIPS 197 Appendix C.1-C.3
        ("000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a"),
        ("000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191"),
        (
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "8ea2b7ca516745bfeafc49904b496089",
        ),
    ],
)
def test_aes_standard_vectors(key: str, ct: str) -> None:
    c = _native_cipher.BlockCipher("AES", bytes.fromhex(key))
    pt = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert c.encrypt_blocks(pt).hex() == ct
    assert c.decrypt_blocks(bytes.fromhex(ct)) == pt


def _ecb(algorithm: str, key: bytes, data: bytes) -> bytes:
    alg = algorithms.SM4(key) if algorithm == "SM4" else algorithms.AES(key)
    enc = Cipher(alg, modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


@pytest.mark.parametrize("algorithm", ["SM4", "AES"])
def test_differential_ecb(algorithm: str) -> None:
    rng = random.Random(f"ecb-{algorithm}")
    for _ in range(FUZZ_ROUNDS):
        key = rng.randbytes(16 if algorithm == "SM4" else rng.choice((16, 24, 32)))
        data = rng.randbytes(16 * rng.randrange(0, 257))
        native = _native_cipher.BlockCipher(algorithm, key)
        ref = _reference_cipher.BlockCipher(algorithm, key)
        ct = native.encrypt_blocks(data)
        assert ct == ref.encrypt_blocks(data) == _ecb(algorithm, key, data)
        assert native.decrypt_blocks(ct) == data


# -- SM4 S-box through AES: the constants in sm4_aesni.c re-derived ---------------------------


def _gmul(a: int, b: int, poly: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        b >>= 1
        a <<= 1
        if a & 0x100:
            a ^= poly
    return r


def _ginv(a: int, poly: int) -> int:
    r = 1
    for _ in range(254):
        r = _gmul(r, a, poly)
    return r if a else 0


def _parity(x: int) -> int:
    return bin(x).count("1") & 1


def _matrix(fn: object) -> list[int]:
    """Rows (bit i of the output) of the GF(2)-linear map fn on bytes."""
    cols = [fn(1 << j) for j in range(8)]  # type: ignore[operator]
    return [sum(((cols[j] >> i) & 1) << j for j in range(8)) for i in range(8)]


def _apply(m: list[int], x: int) -> int:
    return sum(_parity(m[i] & x) << i for i in range(8))


def test_sm4_isomorphism_constants_are_derived() -> None:
    """Re-derive Pre/Post (SM4 S-box = Post(AES SubBytes(Pre(x)))) and check sm4_aesni.c.

    SM4: S(x) = A inv(A x + C) + C mod z^8+z^7+z^6+z^5+z^4+z^2+1 with A's rows rotl8(0xA7, i) and
    C = 0xD3. T maps that field onto AES's (z -> 0x23); Pre = T A (+ T C), Post = A T^-1 M_aes^-1
    (+ its constant). All 256 values are checked against cryptography's SM4 S-box (through ECB).
    """
    f_sm4, f_aes = 0x1F5, 0x11B
    a = _matrix(lambda x: sum(_parity((((0xA7 << i) | (0xA7 >> (8 - i))) & 0xFF) & x) << i
                              for i in range(8)))  # fmt: skip
    sbox = [_apply(a, _ginv(_apply(a, x) ^ 0xD3, f_sm4)) ^ 0xD3 for x in range(256)]
    # the structure matches the standard S-box (via SM4 itself: S(0) etc. are exercised below)
    m_aes = _matrix(lambda x: x ^ ((x << 1 | x >> 7) & 255) ^ ((x << 2 | x >> 6) & 255)
                    ^ ((x << 3 | x >> 5) & 255) ^ ((x << 4 | x >> 4) & 255))  # fmt: skip
    aes_sbox = [_apply(m_aes, _ginv(x, f_aes)) ^ 0x63 for x in range(256)]
    beta = 0x23
    pw = [1]
    for _ in range(7):
        pw.append(_gmul(pw[-1], beta, f_aes))
    t = _matrix(lambda x: _xor_all(pw[j] for j in range(8) if x >> j & 1))
    t_inv = _inverse(t)
    m_aes_inv = _inverse(m_aes)
    pre = _compose(t, a)
    pre_c = _apply(t, 0xD3)
    post = _compose(a, _compose(t_inv, m_aes_inv))
    post_c = _apply(post, 0x63) ^ 0xD3
    tables = {
        "PRE_LO": [_apply(pre, n) ^ pre_c for n in range(16)],
        "PRE_HI": [_apply(pre, n << 4) for n in range(16)],
        "POST_LO": [_apply(post, n) ^ post_c for n in range(16)],
        "POST_HI": [_apply(post, n << 4) for n in range(16)],
    }
    for x in range(256):
        y = tables["PRE_LO"][x & 15] ^ tables["PRE_HI"][x >> 4]
        z = aes_sbox[y]
        assert tables["POST_LO"][z & 15] ^ tables["POST_HI"][z >> 4] == sbox[x]
    source = (ROOT / "native" / "src" / "sm4_aesni.c").read_text()
    for name, values in tables.items():
        line = re.search(rf"#define {name} (.*)", source)
        assert line, name
        assert [int(v, 16) for v in line.group(1).split(",")] == values, name
    # GFNI: affine(inv_aes(Pre x)) with A T^-1 and C, matrices as gf2p8affineqb qwords
    gfni_pre = sum(pre[i] << (8 * (7 - i)) for i in range(8))
    gfni_post = sum(_compose(a, t_inv)[i] << (8 * (7 - i)) for i in range(8))
    assert f"GFNI_PRE_MATRIX 0x{gfni_pre:016x}ll" in source
    assert f"GFNI_POST_MATRIX 0x{gfni_post:016x}ll" in source
    assert f"GFNI_PRE_CONST 0x{pre_c:02x}" in source
    # the derived S-box is SM4's: one-round checks through the cipher are implied by the vectors;
    # here compare with the table gmssl ships (an independent copy of GB/T 32907-2016 Table 1)
    from gmssl.sm4 import SM4_BOXES_TABLE

    assert sbox == list(SM4_BOXES_TABLE)


def _source_table(source: str, name: str) -> list[int]:
    line = re.search(rf"#define {name} (.*)", source)
    assert line, name
    return [int(v, 16) for v in line.group(1).split(",")]


def test_sm4_one_block_tables_are_derived() -> None:
    """Re-derive the one-block routine's tables (sm4_aesni.c, sm4_x1) from Pre and Post.

    The state words are kept as Pre(X); after AESENCLAST (output a), the next word in that domain
    is Y[i] ^ H0(a) ^ (H1(a) <<< 8) ^ (H1(a) <<< 16) ^ (H3(a) <<< 24) with Hm = PreLin . gm . Post
    bytewise and gm byte m of L (GB/T 32907-2016 6.2 (b)) on a byte in position 0. Checked here:
    the tables, L's decomposition on every byte and position, and one whole round in that domain
    against SM4's round function (T = L . tau) on random words.
    """
    source = (ROOT / "native" / "src" / "sm4_aesni.c").read_text()
    pre_lo, pre_hi = _source_table(source, "PRE_LO"), _source_table(source, "PRE_HI")
    post_lo, post_hi = _source_table(source, "POST_LO"), _source_table(source, "POST_HI")

    def pre(x: int) -> int:
        return pre_lo[x & 15] ^ pre_hi[x >> 4]

    def post(x: int) -> int:
        return post_lo[x & 15] ^ post_hi[x >> 4]

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF

    def l_map(b: int) -> int:  # 6.2 (b)
        return b ^ rotl(b, 2) ^ rotl(b, 10) ^ rotl(b, 18) ^ rotl(b, 24)

    def g(m: int, x: int) -> int:
        return (l_map(x) >> (8 * m)) & 0xFF

    for x in range(256):  # L commutes with <<< 8, so byte k of L(B) is sum over m of g_m(B[k-m])
        for j in range(4):
            assert l_map(x << (8 * j)) == sum(g(m, x) << (8 * ((j + m) % 4)) for m in range(4))
    assert all(g(1, x) == g(2, x) for x in range(256))  # hence H2 = H1
    pre_c = pre(0)
    tables = {}
    for name, fn in (
        ("H0", lambda a: pre(g(0, post(a))) ^ pre_c),
        ("H1", lambda a: pre(g(1, post(a))) ^ pre_c),
        ("H3", lambda a: pre(g(3, post(a))) ^ pre_c),
        ("PRE_INV", {pre(x): x for x in range(256)}.__getitem__),
    ):
        c = fn(0)
        tables[f"{name}_LO"] = [fn(n) for n in range(16)]
        tables[f"{name}_HI"] = [fn(n << 4) ^ c for n in range(16)]
        for x in range(256):
            assert tables[f"{name}_LO"][x & 15] ^ tables[f"{name}_HI"][x >> 4] == fn(x)
    for name, values in tables.items():
        assert _source_table(source, name) == values, name
    assert f"#define PRE_LO_CONST 0x{pre_c:02x}" in source

    def word(f: Callable[[int], int], w: int) -> int:  # a bytewise map on a 32-bit word
        return sum(f(w >> (8 * k) & 0xFF) << (8 * k) for k in range(4))

    def lookup(name: str) -> Callable[[int], int]:
        return lambda a: tables[f"{name}_LO"][a & 15] ^ tables[f"{name}_HI"][a >> 4]

    from gmssl.sm4 import SM4_BOXES_TABLE

    aes_sbox, rng = _aes_sbox(), random.Random("sm4-x1")
    for _ in range(2000):  # one round: X4 = X0 ^ L(tau(X1 ^ X2 ^ X3 ^ rk)) (7.1)
        x0, x1, x2, x3, rk = (rng.getrandbits(32) for _ in range(5))
        want = x0 ^ l_map(word(SM4_BOXES_TABLE.__getitem__, x1 ^ x2 ^ x3 ^ rk))
        y0, y1, y2, y3 = (word(pre, v) for v in (x0, x1, x2, x3))
        k = word(lambda b: pre(b) ^ pre_c, rk)  # PreLin(rk)
        a = word(aes_sbox.__getitem__, y1 ^ y2 ^ y3 ^ k)  # AESENCLAST with a zero key: SubBytes
        v0, v1, v3 = (word(lookup(f"H{m}"), a) for m in (0, 1, 3))
        y4 = y0 ^ v0 ^ rotl(v1, 8) ^ rotl(v1, 16) ^ rotl(v3, 24)
        assert word(lookup("PRE_INV"), y4) == want


def _aes_sbox() -> list[int]:
    m_aes = _matrix(lambda x: x ^ ((x << 1 | x >> 7) & 255) ^ ((x << 2 | x >> 6) & 255)
                    ^ ((x << 3 | x >> 5) & 255) ^ ((x << 4 | x >> 4) & 255))  # fmt: skip
    return [_apply(m_aes, _ginv(x, 0x11B)) ^ 0x63 for x in range(256)]


def test_sm4_bitsliced_tower_constants_are_derived() -> None:
    """Re-derive the bitsliced portable S-box's maps (sm4.c BS_*) and check all 256 values.

    Tower field GF(16)[y]/(y^2 + y + 8), GF(16) = GF(2)[z]/(z^4 + z + 1); T maps SM4's field onto
    it; S(x) = A T^-1 inv(T A x + T C) + C with inv(a y + b) = (a d) y + (a + b) d,
    d = (8 a^2 + a b + b^2)^-1.
    """

    def g16(a: int, b: int) -> int:
        return _gmul16(a, b)

    lam = 8
    assert all(g16(y, y) ^ y ^ lam for y in range(16))  # y^2 + y + 8 is irreducible

    def tmul(x: int, y: int) -> int:
        a, b, c, d = x >> 4, x & 15, y >> 4, y & 15
        ac = g16(a, c)
        return (ac ^ g16(a, d) ^ g16(b, c)) << 4 | (g16(ac, lam) ^ g16(b, d))

    def g16inv(a: int) -> int:
        r = 1
        for _ in range(14):
            r = g16(r, a)
        return r if a else 0

    def tinv(x: int) -> int:
        a, b = x >> 4, x & 15
        d = g16inv(g16(lam, g16(a, a)) ^ g16(a, b) ^ g16(b, b))
        return g16(a, d) << 4 | g16(a ^ b, d)

    def peval(beta: int) -> int:
        r = 0
        for i in range(8, -1, -1):
            r = tmul(r, beta) ^ ((0x1F5 >> i) & 1)
        return r

    beta = next(b for b in range(2, 256) if peval(b) == 0)
    pw = [1]
    for _ in range(7):
        pw.append(tmul(pw[-1], beta))
    t = _matrix(lambda x: _xor_all(pw[j] for j in range(8) if x >> j & 1))
    a = _matrix(lambda x: sum(_parity((((0xA7 << i) | (0xA7 >> (8 - i))) & 0xFF) & x) << i
                              for i in range(8)))  # fmt: skip
    pre, pre_c = _compose(t, a), _apply(t, 0xD3)
    post = _compose(a, _inverse(t))
    from gmssl.sm4 import SM4_BOXES_TABLE

    for x in range(256):
        assert _apply(post, tinv(_apply(pre, x) ^ pre_c)) ^ 0xD3 == SM4_BOXES_TABLE[x]
    sq = [sum(((g16(1 << j, 1 << j) >> i) & 1) << j for j in range(4)) for i in range(4)]
    lsq = [sum(((g16(lam, g16(1 << j, 1 << j)) >> i) & 1) << j for j in range(4)) for i in range(4)]
    source = (ROOT / "native" / "src" / "sm4.c").read_text()

    def table(name: str) -> list[int]:
        found = re.search(rf"{name}\[\d\] = \{{([^}}]*)\}}", source)
        assert found, name
        return [int(v, 0) for v in found.group(1).split(",")]

    assert table("BS_PRE") == pre
    assert table("BS_POST") == post
    assert table("BS_SQ") == sq
    assert table("BS_LSQ") == lsq
    assert f"#define BS_PRE_C 0x{pre_c:02x}" in source


def _gmul16(a: int, b: int) -> int:
    r = 0
    while b:
        if b & 1:
            r ^= a
        b >>= 1
        a <<= 1
        if a & 0x10:
            a ^= 0b10011
    return r


def _xor_all(values: object) -> int:
    r = 0
    for v in values:  # type: ignore[attr-defined]
        r ^= v
    return r


def _compose(m1: list[int], m2: list[int]) -> list[int]:
    return _matrix(lambda x: _apply(m1, _apply(m2, x)))


def _inverse(m: list[int]) -> list[int]:
    table = {_apply(m, x): x for x in range(256)}
    assert len(table) == 256
    return _matrix(lambda y: table[y])


# -- GCM -----------------------------------------------------------------------------------------


def _crypto_gcm_seal(algorithm: str, key: bytes, nonce: bytes, data: bytes, ad: bytes) -> bytes:
    if algorithm == "AES":
        return AESGCM(key).encrypt(nonce, data, ad)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(ad)
    return enc.update(data) + enc.finalize() + enc.tag


def test_sm4_gcm_rfc8998_vector() -> None:
    # RFC 8998 Appendix A.1
    g = _native_cipher.Gcm("SM4", bytes.fromhex("0123456789abcdeffedcba9876543210"))
    nonce = bytes.fromhex("00001234567800000000abcd")
    ad = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    pt = bytes.fromhex(
        "aa" * 8 + "bb" * 8 + "cc" * 8 + "dd" * 8 + "ee" * 8 + "ff" * 8 + "ee" * 8 + "aa" * 8
    )
    sealed = g.seal(nonce, pt, ad)
    assert sealed.hex() == (
        "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735"
        "d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d"
        "83de3541e4c2b58177e065a9bf7b62ec"
    )
    assert g.open(nonce, sealed, ad) == pt


@pytest.mark.parametrize("algorithm", ["SM4", "AES"])
def test_differential_gcm(algorithm: str) -> None:
    rng = random.Random(f"gcm-{algorithm}")
    for i in range(FUZZ_ROUNDS):
        key = rng.randbytes(16 if algorithm == "SM4" else rng.choice((16, 24, 32)))
        nonce = rng.randbytes(12)
        data = rng.randbytes(rng.randrange(0, 4097) if i % 4 == 0 else rng.randrange(0, 130))
        ad = rng.randbytes(rng.randrange(0, 70))
        native = _native_cipher.Gcm(algorithm, key)
        sealed = native.seal_native(nonce, data, ad)  # the C code, also for AES
        assert sealed == native.seal(nonce, data, ad)
        assert sealed == _reference_cipher.Gcm(algorithm, key).seal(nonce, data, ad)
        assert sealed == _crypto_gcm_seal(algorithm, key, nonce, data, ad)
        assert native.open_native(nonce, sealed, ad) == data == native.open(nonce, sealed, ad)
        flip = rng.randrange(len(sealed))
        bad = sealed[:flip] + bytes([sealed[flip] ^ (1 << rng.randrange(8))]) + sealed[flip + 1 :]
        assert native.open_native(nonce, bad, ad) is None
        assert native.open(nonce, bad, ad) is None


@pytest.mark.parametrize("algorithm", ["SM4", "AES"])
@pytest.mark.parametrize("shared_ad", [False, True], ids=["per-field-ad", "shared-ad"])
def test_differential_gcm_batch(algorithm: str, shared_ad: bool) -> None:
    rng = random.Random(f"gcm-batch-{algorithm}-{shared_ad}")
    key = rng.randbytes(16 if algorithm == "SM4" else 32)
    native = _native_cipher.Gcm(algorithm, key)
    ref = _reference_cipher.Gcm(algorithm, key)
    done = 0
    while done < FUZZ_ROUNDS:
        count = rng.choice((1, 2, 3, 7, 50, 300))
        size = rng.choice((None, 0, 16, 32))  # None: mixed sizes, some longer than a group
        datas = [rng.randbytes(size if size is not None else rng.choice(
            (rng.randrange(0, 100), rng.randrange(0, 5000)))) for _ in range(count)]  # fmt: skip
        common = rng.randbytes(rng.randrange(0, 40))
        ads = [common if shared_ad else rng.randbytes(rng.randrange(0, 40)) for _ in range(count)]
        nonces = [rng.randbytes(12) for _ in range(count)]
        sealed = native.seal_many(nonces, datas, ads)
        assert sealed == [ref.seal(n, d, a) for n, d, a in zip(nonces, datas, ads)]
        assert native.open_many(nonces, sealed, ads) == datas
        bad = list(sealed)
        for j in range(0, count, 3):
            k = rng.randrange(len(bad[j]))
            bad[j] = bad[j][:k] + bytes([bad[j][k] ^ 0x01]) + bad[j][k + 1 :]
        if count > 1:
            bad[1] = bad[1][: rng.randrange(16)]  # too short to hold a tag
        opened = native.open_many(nonces, bad, ads)
        assert opened == [ref.open(n, d, a) for n, d, a in zip(nonces, bad, ads)]
        assert all(opened[j] is None for j in range(0, count, 3))
        done += count


def test_batch_empty_and_mismatched_lengths() -> None:
    g = _native_cipher.Gcm("SM4", bytes(16))
    assert g.seal_many([], [], []) == []
    assert g.open_many([], [], []) == []
    with pytest.raises(ValueError):
        g.seal_many([bytes(12)], [b"a", b"b"], [b"", b""])
    with pytest.raises(ValueError):
        g.seal_many([bytes(11)], [b"a"], [b""])


def test_batch_lengths_must_be_byte_counts() -> None:
    """C trusts the uint32 lengths for every read and write: an item whose len() is not its byte
    count (here a memoryview of 4-byte items) is refused, never passed on with a wrong length."""
    from array import array

    g = _native_cipher.Gcm("SM4", bytes(16))
    wide = memoryview(array("I", [1, 2, 3]))  # len 3, 12 bytes
    nonces, datas = [bytes(12)] * 3, [b"abc", b"de", b"f"]
    with pytest.raises(TypeError):
        g.seal_many(nonces, [wide] * 3, [b""] * 3)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        g.seal_many(nonces, [b"abc", b"de", wide], [b""] * 3)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        g.seal_many(nonces, datas, [b"x", b"yy", wide])  # type: ignore[list-item]
    sealed = g.seal_many(nonces, datas, [bytes(wide)] * 3)
    # one shared associated data: authenticated whole (12 bytes), not len() = 3 of them
    assert g.seal_many(nonces, datas, [wide] * 3) == sealed  # type: ignore[list-item]
    assert g.open_many(nonces, sealed, [bytes(wide)] * 3) == datas
    with pytest.raises(TypeError):
        g.open_many(nonces, [*sealed[:2], memoryview(sealed[2] + bytes(3)).cast("I")], [b""] * 3)


class _Lying(bytes):
    """A bytes subclass whose len() is not its size: C must get the real size."""

    def __len__(self) -> int:
        return 2


def test_single_calls_use_the_byte_count_not_len() -> None:
    from vaultkit.hazmat.bindings import _native_ff1

    g = _native_cipher.Gcm("SM4", bytes(16))
    nonce = bytes(12)
    assert g.seal_native(nonce, _Lying(b"abcdef"), _Lying(b"ad")) == g.seal_native(
        nonce, b"abcdef", b"ad"
    )
    sealed = g.seal_native(nonce, b"abcdef", b"")
    assert g.open_native(_Lying(nonce), _Lying(sealed), b"") == b"abcdef"
    c = _native_cipher.BlockCipher("SM4", bytes(16))
    assert c.encrypt_blocks(_Lying(bytes(32))) == c.encrypt_blocks(bytes(32))
    assert c.decrypt_blocks(_Lying(bytes(32))) == c.decrypt_blocks(bytes(32))
    # keys: the 16 real bytes are the key (len() says 2, which was refused)
    block = _native_cipher.BlockCipher("SM4", _Lying(bytes(16)))
    assert block.encrypt_blocks(bytes(16)) == c.encrypt_blocks(bytes(16))
    gcm = _native_cipher.Gcm("SM4", _Lying(bytes(16)))
    assert gcm.seal_native(nonce, b"abcdef", b"") == sealed
    ff1 = _native_ff1.Ff1("SM4", _Lying(bytes(16)), 10)
    assert ff1.crypt(bytes(6), [6], b"", False) == _native_ff1.Ff1("SM4", bytes(16), 10).crypt(
        bytes(6), [6], b"", False
    )


def test_failed_tag_releases_no_plaintext() -> None:
    """At the C level too: vk_gcm_open returns -1 and leaves the output zeroed."""
    ffi, lib = bindings.native()
    key, nonce, data = bytes(range(16)), bytes(12), b"secret plaintext" * 4
    g = _native_cipher.Gcm("SM4", key)
    sealed = bytearray(g.seal(nonce, data, b"ad"))
    sealed[-1] ^= 0x40
    assert g.open(nonce, bytes(sealed), b"ad") is None
    assert g.open_many([nonce], [bytes(sealed)], [b"ad"]) == [None]
    out = ffi.new("uint8_t[]", len(data))
    ffi.memmove(out, b"\xff" * len(data), len(data))
    raw = ffi.gc(lib.vk_gcm_new(lib.VK_CIPHER_SM4, key, 16), lib.vk_gcm_free)
    assert lib.vk_gcm_open(raw, nonce, bytes(sealed), len(sealed), b"ad", 2, out) == -1
    assert ffi.buffer(out)[:] == bytes(len(data))
    ok = ffi.new("uint8_t[]", 1)
    lens = ffi.new("uint32_t[]", [len(sealed)])
    ad_lens = ffi.new("uint32_t[]", [2])
    assert lib.vk_gcm_open_many(raw, 1, nonce, bytes(sealed), lens, b"ad", ad_lens, 0, out, ok) == 1
    assert ok[0] == 0 and ffi.buffer(out)[:] == bytes(len(data))


def test_key_objects_refuse_pickling_and_hide_material() -> None:
    import pickle

    key = bytes(range(16))
    for obj in (_native_cipher.BlockCipher("SM4", key), _native_cipher.Gcm("SM4", key)):
        with pytest.raises(TypeError):
            pickle.dumps(obj)
        assert key.hex() not in repr(obj)


# -- every CPU path gives identical results --------------------------------------------------------

_PATH_SCRIPT = r"""
import hashlib, random
from vaultkit.hazmat.bindings import _native, _native_cipher as n
h = hashlib.sha256()
rng = random.Random(5)
for alg, kl in (("SM4", 16), ("AES", 16), ("AES", 24), ("AES", 32)):
    for blocks in (0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 64, 65, 300):
        key, data = rng.randbytes(kl), rng.randbytes(16 * blocks)
        c = n.make_block_cipher(alg, key)
        ct = c.encrypt_blocks(data)
        assert c.decrypt_blocks(ct) == data
        h.update(ct)
    g = n.make_gcm(alg, rng.randbytes(kl))
    for size in (0, 1, 15, 16, 17, 100, 4095, 4096, 4097, 70000):
        nonce, data, ad = rng.randbytes(12), rng.randbytes(size), rng.randbytes(size % 50)
        s = g.seal_native(nonce, data, ad) if hasattr(g, "seal_native") else g.seal(nonce, data, ad)
        assert g.open(nonce, s, ad) == data
        h.update(s)
    nonces = [rng.randbytes(12) for _ in range(200)]
    datas = [rng.randbytes(rng.randrange(0, 200)) for _ in range(200)]
    ads = [rng.randbytes(rng.randrange(0, 20)) for _ in range(200)]
    for s in g.seal_many(nonces, datas, ads):
        h.update(s)
lib, ffi = _native.lib, _native.ffi
sm4, ghash = ffi.string(lib.vk_sm4_impl()), ffi.string(lib.vk_ghash_impl())
print(sm4.decode(), ghash.decode(), h.hexdigest())
"""

# VAULTKIT_CPU_MASK bits (native/src/internal.h):
# AESNI 1, PCLMUL 2, AVX2 4, SSSE3 8, GFNI 16, VAES 32, AVX512 64
CPU_PATHS = {
    "gfni-avx512": ("127", "pclmul"),
    "gfni-avx2": ("63", "pclmul"),
    "vaes-avx2": ("47", "pclmul"),
    "aesni-avx2": ("15", "pclmul"),
    "aesni": ("11", "pclmul"),
    "aesni-portable-ghash": ("9", "portable-ct"),
    "portable-ct": ("0", "portable-ct"),
}


# Required everywhere vaultkit is tested (any x86-64 CI machine has AES-NI, AVX2 and PCLMULQDQ);
# the GFNI, VAES and AVX-512 paths are compared wherever the CPU has them.
REQUIRED_PATHS = {"aesni-avx2", "aesni", "aesni-portable-ghash", "portable-ct"}


def test_every_cpu_path_gives_identical_results() -> None:
    available = _native_cipher._lib.vk_cpu_features()
    digests = {}
    for name, (mask, ghash) in CPU_PATHS.items():
        if int(mask) & ~available:
            if name in REQUIRED_PATHS:
                pytest.fail(f"this machine lacks the CPU features of path {name} (mask {mask})")
            continue
        env = {**os.environ, "VAULTKIT_CPU_MASK": mask}
        proc = subprocess.run([sys.executable, "-c", _PATH_SCRIPT], capture_output=True,
                              text=True, env=env, check=False)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        sm4, ghash_impl, digest = proc.stdout.split()
        assert sm4 == name.replace("-portable-ghash", "")
        assert ghash_impl == ghash
        digests[name] = digest
    assert REQUIRED_PATHS <= set(digests)
    assert len(set(digests.values())) == 1, digests


# -- single blocks (sm4_x1, FF1's serial rounds) on every path -------------------------------------

_SINGLE_SCRIPT = r"""
import hashlib, random, sys
from vaultkit.hazmat.bindings import _native, _native_cipher as n
lib, ffi = _native.lib, _native.ffi
rounds, h = int(sys.argv[1]), hashlib.sha256()
rng = random.Random("sm4-single")
for _ in range(rounds):  # one-block calls: encrypt, then decrypt in place
    c = n.BlockCipher("SM4", rng.randbytes(16))
    block = rng.randbytes(16)
    ct = c.encrypt_blocks(block)
    buf = ffi.new("uint8_t[16]", ct)
    lib.vk_cipher_decrypt_blocks(c._c, buf, buf, 1)
    assert ffi.buffer(buf)[:] == block
    h.update(ct)
# GB/T 32907-2016 Appendix A: example 1, and example 2 (1,000,000 encryptions in place)
key = bytes.fromhex("0123456789abcdeffedcba9876543210")
c = n.BlockCipher("SM4", key)
buf = ffi.new("uint8_t[16]", key)
lib.vk_cipher_encrypt_blocks(c._c, buf, buf, 1)
assert ffi.buffer(buf)[:].hex() == "681edf34d206965e86b3e94f536e4246"
impl = ffi.string(lib.vk_sm4_impl()).decode()
if impl != "portable-ct":  # its one-block code is not the one under test here (5 s)
    for _ in range(999_999):
        lib.vk_cipher_encrypt_blocks(c._c, buf, buf, 1)
    assert ffi.buffer(buf)[:].hex() == "595298c7c6fd271f0402f804c33d3f66"
print(impl, h.hexdigest())
"""


def test_sm4_single_blocks_on_every_path() -> None:
    """One-block calls (on the AES-NI paths: the latency routine sm4_x1) under every runnable
    VAULTKIT_CPU_MASK, against cryptography's SM4 on VAULTKIT_FUZZ_ROUNDS random keys and blocks,
    decryption in place, and the GB/T 32907 examples (the second, 1,000,000 single blocks, on
    the vector paths)."""
    rounds = max(FUZZ_ROUNDS // 5, 100)
    rng, h = random.Random("sm4-single"), hashlib.sha256()
    for _ in range(rounds):
        key = rng.randbytes(16)
        h.update(_ecb("SM4", key, rng.randbytes(16)))
    available = _native_cipher._lib.vk_cpu_features()
    seen = set()
    for name, (mask, _ghash) in CPU_PATHS.items():
        if int(mask) & ~available:
            if name in REQUIRED_PATHS:
                pytest.fail(f"this machine lacks the CPU features of path {name} (mask {mask})")
            continue
        if name == "aesni-portable-ghash":  # the same SM4 path as "aesni"
            continue
        env = {**os.environ, "VAULTKIT_CPU_MASK": mask}
        proc = subprocess.run([sys.executable, "-c", _SINGLE_SCRIPT, str(rounds)],
                              capture_output=True, text=True, env=env, check=False)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        impl, digest = proc.stdout.split()
        assert impl == name.replace("-portable-ghash", "")
        assert digest == h.hexdigest(), name
        seen.add(impl)
    assert {"aesni-avx2", "aesni", "portable-ct"} <= seen


# -- memory safety of the batch entry points (AddressSanitizer + UBSan) ---------------------------


def test_gcm_batch_memory_safety_under_asan(tmp_path: Path) -> None:
    """tests/native/ctgrind/asan_gcm_batch.c: exact-size heap buffers, random batches."""
    run_under_asan(tmp_path, "asan_gcm_batch", "300", "20")


# -- properties ------------------------------------------------------------------------------------

_SM4_GCM = _native_cipher.Gcm("SM4", bytes(range(16)))


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(
        st.tuples(
            st.binary(min_size=12, max_size=12), st.binary(max_size=300), st.binary(max_size=40)
        ),
        max_size=20,
    ),
    flip=st.integers(min_value=0),
)
def test_gcm_batch_properties(items: list[tuple[bytes, bytes, bytes]], flip: int) -> None:
    """seal_many = map(seal); open(seal(x)) = x; any single bit flip is rejected."""
    nonces, datas, ads = [i[0] for i in items], [i[1] for i in items], [i[2] for i in items]
    sealed = _SM4_GCM.seal_many(nonces, datas, ads)
    assert sealed == [_SM4_GCM.seal(n, d, a) for n, d, a in items]
    assert _SM4_GCM.open_many(nonces, sealed, ads) == datas
    if items:
        i = flip % len(items)
        pos = (flip // len(items)) % (8 * len(sealed[i]))
        bad = bytearray(sealed[i])
        bad[pos // 8] ^= 1 << (pos % 8)
        assert _SM4_GCM.open(nonces[i], bytes(bad), ads[i]) is None


@settings(max_examples=100, deadline=None)
@given(blocks=st.binary(max_size=16 * 40).map(lambda b: b[: len(b) - len(b) % 16]))
def test_block_round_trip_property(blocks: bytes) -> None:
    for algorithm, key in (("SM4", bytes(16)), ("AES", bytes(32))):
        c = _native_cipher.BlockCipher(algorithm, key)
        assert c.decrypt_blocks(c.encrypt_blocks(blocks)) == blocks


def test_bad_sizes_are_refused_before_c() -> None:
    with pytest.raises(ValueError):
        _native_cipher.BlockCipher("SM4", bytes(15))
    with pytest.raises(ValueError):
        _native_cipher.BlockCipher("DES", bytes(16))
    with pytest.raises(ValueError):
        _native_cipher.Gcm("AES", bytes(20))
    c = _native_cipher.BlockCipher("SM4", bytes(16))
    with pytest.raises(ValueError):
        c.encrypt_blocks(bytes(17))
    with pytest.raises(ValueError):
        _SM4_GCM.seal(bytes(8), b"x", b"")


# -- Wycheproof through the C code (single AES calls go to OpenSSL, so call the C paths directly)


@pytest.mark.parametrize("name", ["aes_gcm", "sm4_gcm"])
def test_wycheproof_gcm_through_c(name: str) -> None:
    import json

    data = json.loads((ROOT / "tests" / "vectors" / "wycheproof" / f"{name}_test.json").read_text())
    algorithm = "AES" if name == "aes_gcm" else "SM4"
    checked = 0
    for group in data["testGroups"]:
        if group["ivSize"] != 96 or group["tagSize"] != 128:
            continue
        for t in group["tests"]:
            key, iv, ad, msg = (bytes.fromhex(t[k]) for k in ("key", "iv", "aad", "msg"))
            sealed = bytes.fromhex(t["ct"] + t["tag"])
            g = _native_cipher.Gcm(algorithm, key)
            if t["result"] == "valid":
                assert g.seal_native(iv, msg, ad) == sealed, t["tcId"]
                assert g.open_native(iv, sealed, ad) == msg, t["tcId"]
                # three copies: batches of 1-2 fields go through the single calls
                assert g.seal_many([iv] * 3, [msg] * 3, [ad] * 3) == [sealed] * 3, t["tcId"]
                assert g.open_many([iv] * 3, [sealed] * 3, [ad] * 3) == [msg] * 3, t["tcId"]
            else:
                assert g.open_native(iv, sealed, ad) is None, t["tcId"]
                assert g.open_many([iv] * 3, [sealed] * 3, [ad] * 3) == [None] * 3, t["tcId"]
            checked += 1
    assert checked > 30


def test_shared_handle_across_threads() -> None:
    """The C schedules are read-only after creation and cffi releases the GIL: threads sharing
    one object get the same results as one thread."""
    from concurrent.futures import ThreadPoolExecutor

    rng = random.Random(11)
    g = _native_cipher.Gcm("SM4", rng.randbytes(16))
    jobs = []
    for _ in range(8):
        nonces = [rng.randbytes(12) for _ in range(500)]
        datas = [rng.randbytes(rng.randrange(0, 100)) for _ in range(500)]
        jobs.append((nonces, datas, [b"ctx"] * 500))
    expected = [g.seal_many(*job) for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: g.seal_many(*job), jobs * 4))
    assert results == expected * 4
