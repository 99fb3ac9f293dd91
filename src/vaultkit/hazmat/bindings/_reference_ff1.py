"""Reference backend, area "ff1": NIST SP 800-38G FF1 in pure Python integers.

This is the oracle the native FF1 is tested against, so it uses the reference block cipher
(cryptography/OpenSSL) directly, never the backend in use. Arguments are assumed valid (the
public ``vaultkit.hazmat.ff1.FF1`` checks lengths, numerals and the tweak).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence

from vaultkit.hazmat.bindings._reference_cipher import BlockCipher

__all__ = ["Ff1"]

_BLOCK = 16


class Ff1:
    """FF1 (SP 800-38G 6.2) over SM4 or AES with radix 2..65536."""

    __slots__ = ("_cipher", "_radix")

    def __init__(self, algorithm: str, key: bytes, radix: int) -> None:
        self._cipher = BlockCipher(algorithm, key)
        self._radix = radix

    def crypt(self, numerals: bytes, lengths: Sequence[int], tweak: bytes, decrypt: bool) -> bytes:
        """Every value's numerals concatenated: one byte each when radix <= 256, else two bytes
        little-endian; same layout out."""
        wide = self._radix > 256
        digits = _unpack(numerals, wide)
        out: list[int] = []
        pos = 0
        for n in lengths:
            out += self._one(digits[pos : pos + n], tweak, decrypt)
            pos += n
        return _pack(out, wide)

    def crypt_one(self, numerals: bytes, tweak: bytes, decrypt: bool) -> bytes:
        """``crypt`` of one value (every numeral of ``numerals``)."""
        return self.crypt(numerals, (len(numerals) >> (self._radix > 256),), tweak, decrypt)

    def _prf(self, blocks: bytes) -> bytes:
        # SP 800-38G 4.5 Algorithm 6 PRF(X): CBC-MAC with a zero IV, one block at a time
        y = 0
        for j in range(0, len(blocks), _BLOCK):
            x = y ^ int.from_bytes(blocks[j : j + _BLOCK], "big")
            y = int.from_bytes(self._cipher.encrypt_blocks(x.to_bytes(_BLOCK, "big")), "big")
        return y.to_bytes(_BLOCK, "big")

    def _one(self, x: list[int], tweak: bytes, decrypt: bool) -> list[int]:
        radix, n, t = self._radix, len(x), len(tweak)
        # SP 800-38G 6.2 Algorithm 7 (FF1.Encrypt) / Algorithm 8 (FF1.Decrypt)
        u = n // 2  # step 1
        v = n - u
        a, b = x[:u], x[u:]  # step 2
        # step 3: b = ceil(ceil(v * log2(radix)) / 8); ceil(log2(N)) = bitlen(N - 1), exact
        b_len = ((radix**v - 1).bit_length() + 7) // 8
        d = 4 * ((b_len + 3) // 4) + 4  # step 4
        # step 5: P = [1]^1 [2]^1 [1]^1 [radix]^3 [10]^1 [u mod 256]^1 [n]^4 [t]^4 (concatenated)
        p = (
            bytes([1, 2, 1])
            + radix.to_bytes(3, "big")
            + bytes([10, u % 256])
            + n.to_bytes(4, "big")
            + t.to_bytes(4, "big")
        )
        q_prefix = tweak + bytes((-t - b_len - 1) % 16)
        num_a, num_b = _num(a, radix), _num(b, radix)  # NUM_radix (SP 800-38G 4.5 Algorithm 1)
        mod_u, mod_v = radix**u, radix**v
        for i in range(9, -1, -1) if decrypt else range(10):  # step 6 (Alg. 8: i from 9 to 0)
            # step 6.i: Q = T || [0]^((-t-b-1) mod 16) || [i]^1 || [NUM_radix(B)]^b
            # (Alg. 8 step 6.i uses NUM_radix(A))
            q = q_prefix + bytes([i]) + (num_a if decrypt else num_b).to_bytes(b_len, "big")
            r = self._prf(p + q)  # step 6.ii
            # step 6.iii: S = first d bytes of R || CIPH(R xor [1]^16) || ... || CIPH(R xor [j]^16)
            s = r
            extra = (d + 15) // 16 - 1
            if extra:
                r_int = int.from_bytes(r, "big")
                s += self._cipher.encrypt_blocks(
                    b"".join((r_int ^ j).to_bytes(16, "big") for j in range(1, extra + 1))
                )
            y = int.from_bytes(s[:d], "big")  # step 6.iv
            m_mod = mod_u if i % 2 == 0 else mod_v  # step 6.v: m = u if i even else v
            if decrypt:
                # Alg. 8 steps 6.vi-6.ix: c = (NUM_radix(B) - y) mod radix^m; B = A; A = C
                num_a, num_b = (num_b - y) % m_mod, num_a
            else:
                # Alg. 7 steps 6.vi-6.ix: c = (NUM_radix(A) + y) mod radix^m; A = B; B = C
                num_a, num_b = num_b, (num_a + y) % m_mod
        # step 7: A || B, with STR^m_radix (SP 800-38G 4.5 Algorithm 3)
        return _str(num_a, u, radix) + _str(num_b, v, radix)


def _num(digits: list[int], radix: int) -> int:
    # SP 800-38G 4.5 Algorithm 1 NUM_radix(X)
    x = 0
    for digit in digits:
        x = x * radix + digit
    return x


def _str(x: int, m: int, radix: int) -> list[int]:
    # SP 800-38G 4.5 Algorithm 3 STR^m_radix(x): m numerals, most significant first
    out = [0] * m
    for i in range(m - 1, -1, -1):
        x, out[i] = divmod(x, radix)
    return out


def _unpack(numerals: bytes, wide: bool) -> list[int]:
    if not wide:
        return list(numerals)
    arr = array("H")
    arr.frombytes(numerals)
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tolist()


def _pack(digits: list[int], wide: bool) -> bytes:
    if not wide:
        return bytes(digits)
    arr = array("H", digits)
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tobytes()
