"""Reference backend, area "cipher": SM4 and AES blocks and GCM over cryptography/OpenSSL.

Used where the native extension is missing and as the oracle in differential tests. Arguments
are assumed valid (the public ``vaultkit.hazmat`` classes check them).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["BlockCipher", "Gcm"]

_TAG = 16


def _algorithm(algorithm: str, key: bytes) -> algorithms.SM4 | algorithms.AES:
    if algorithm == "SM4":
        return algorithms.SM4(key)  # GB/T 32907-2016
    if algorithm == "AES":
        return algorithms.AES(key)  # FIPS 197
    raise ValueError("algorithm must be 'SM4' or 'AES'")


class BlockCipher:
    """ECB over whole 16-byte blocks. One long-lived OpenSSL context per direction: ECB keeps
    no state between blocks, so ``update`` may be called any number of times."""

    __slots__ = ("_dec", "_enc")

    def __init__(self, algorithm: str, key: bytes) -> None:
        cipher = Cipher(_algorithm(algorithm, key), modes.ECB())  # noqa: S305 (raw blocks for modes)
        self._enc = cipher.encryptor()
        self._dec = cipher.decryptor()

    def encrypt_blocks(self, data: bytes) -> bytes:
        return self._enc.update(data)

    def decrypt_blocks(self, data: bytes) -> bytes:
        return self._dec.update(data)


class Gcm:
    """NIST SP 800-38D GCM with 12-byte nonces and 16-byte tags; output ciphertext || tag."""

    __slots__ = ("_aesgcm", "_algorithm", "_key")

    def __init__(self, algorithm: str, key: bytes) -> None:
        _algorithm(algorithm, key)  # checks the algorithm and key size
        self._algorithm = algorithm
        self._key = key
        self._aesgcm = AESGCM(key) if algorithm == "AES" else None

    def seal(self, nonce: bytes, data: bytes, ad: bytes) -> bytes:
        if self._aesgcm is not None:
            return self._aesgcm.encrypt(nonce, data, ad)
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(ad)
        return enc.update(data) + enc.finalize() + enc.tag

    def open(self, nonce: bytes, data: bytes, ad: bytes) -> bytes | None:
        if len(data) < _TAG:
            return None
        try:
            if self._aesgcm is not None:
                return self._aesgcm.decrypt(nonce, data, ad)
            dec = Cipher(
                algorithms.SM4(self._key), modes.GCM(nonce, data[-_TAG:], min_tag_length=_TAG)
            ).decryptor()
            dec.authenticate_additional_data(ad)
            return dec.update(data[:-_TAG]) + dec.finalize()
        except InvalidTag:
            return None

    def seal_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes]:
        return [self.seal(n, d, a) for n, d, a in zip(nonces, datas, ads, strict=True)]

    def open_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes | None]:
        return [self.open(n, d, a) for n, d, a in zip(nonces, datas, ads, strict=True)]
