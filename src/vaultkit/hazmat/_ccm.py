"""CCM (NIST SP 800-38C) over any 128-bit block cipher implementation (private).

Written for SM4-CCM (RFC 8998); the block cipher comes from the backend in use, so the native
SM4 does the block work when it is available. CBC-MAC is sequential, one block per call.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from vaultkit.hazmat.bindings._interface import BlockCipherImpl

__all__ = ["Ccm"]

_BLOCK = 16


class Ccm:
    """CCM with nonce length ``n`` in 7..13 and tag length ``t`` in {4, 6, ..., 16} bytes."""

    __slots__ = ("_cipher", "_tag_length")

    def __init__(self, cipher: BlockCipherImpl, tag_length: int) -> None:
        self._cipher = cipher
        self._tag_length = tag_length

    @property
    def tag_length(self) -> int:
        return self._tag_length

    def _ciph(self, block: bytes) -> bytes:
        return bytes(self._cipher.encrypt_blocks(block))

    def _mac(self, nonce: bytes, data: bytes, ad: bytes) -> bytes:
        q = 15 - len(nonce)
        # SP 800-38C A.2.1: flags = 64*Adata + 8*((t-2)/2) + (q-1); B0 = flags || N || Q
        flags = (64 if ad else 0) | (((self._tag_length - 2) // 2) << 3) | (q - 1)
        blocks = bytes([flags]) + nonce + len(data).to_bytes(q, "big")
        if ad:
            # SP 800-38C A.2.2: encoding of the associated data length a
            a = len(ad)
            if a < (1 << 16) - (1 << 8):
                header = a.to_bytes(2, "big")
            elif a < (1 << 32):
                header = b"\xff\xfe" + a.to_bytes(4, "big")
            else:
                header = b"\xff\xff" + a.to_bytes(8, "big")
            blocks += _pad(header + ad)
        blocks += _pad(data)  # SP 800-38C A.2.3
        # SP 800-38C 6.1 steps 3-4: CBC-MAC, Y_0 = CIPH(B_0), Y_i = CIPH(B_i xor Y_{i-1})
        y = bytes(_BLOCK)
        for i in range(0, len(blocks), _BLOCK):
            y = self._ciph(_xor(blocks[i : i + _BLOCK], y))
        return y[: self._tag_length]

    def _keystream(self, nonce: bytes, length: int) -> bytes:
        # SP 800-38C A.3: Ctr_j = flags || N || [j]_q with flags = q - 1; returns S_0 || S_1 ...
        q = 15 - len(nonce)
        prefix = bytes([q - 1]) + nonce
        count = (length + _BLOCK - 1) // _BLOCK + 1
        counters = b"".join(prefix + j.to_bytes(q, "big") for j in range(count))
        return bytes(self._cipher.encrypt_blocks(counters))

    def seal(self, nonce: bytes, data: bytes, ad: bytes) -> bytes:
        """SP 800-38C 6.1 Generation-Encryption: (P xor MSB_Plen(S)) || (T xor MSB_Tlen(S_0))."""
        tag = self._mac(nonce, data, ad)
        stream = self._keystream(nonce, len(data))
        return _xor(data, stream[_BLOCK:]) + _xor(tag, stream)

    def open(self, nonce: bytes, data: bytes, ad: bytes) -> bytes | None:
        """SP 800-38C 6.2 Decryption-Verification; ``None`` when the tag does not verify."""
        t = self._tag_length
        if len(data) < t:
            return None
        stream = self._keystream(nonce, len(data) - t)
        plaintext = _xor(data[:-t], stream[_BLOCK:])
        tag = _xor(data[-t:], stream)
        if not hmac.compare_digest(tag, self._mac(nonce, plaintext, ad)):
            return None
        return plaintext

    def seal_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes]:
        return [self.seal(n, d, a) for n, d, a in zip(nonces, datas, ads, strict=True)]

    def open_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes | None]:
        return [self.open(n, d, a) for n, d, a in zip(nonces, datas, ads, strict=True)]


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % _BLOCK)


def _xor(a: bytes, b: bytes) -> bytes:
    """a xor the first len(a) bytes of b."""
    n = len(a)
    return (int.from_bytes(a, "big") ^ int.from_bytes(b[:n], "big")).to_bytes(n, "big")
