"""Reference backend, area "cipher": SM4 and AES blocks and GCM over cryptography/OpenSSL.

Used where the native extension is missing and as the oracle in differential tests. Arguments
are assumed valid (the public ``vaultkit.hazmat`` classes check them).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import pairwise

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vaultkit.errors import InputFormatError
from vaultkit.hazmat.bindings._interface import FlatOpened, FlatSealed

__all__ = ["BlockCipher", "Gcm", "Records"]

_TAG = 16
_NONCE = 12
_BAD_OFFSETS = (
    "flat batch offsets must be count + 1 non-decreasing positions inside the buffer, records "
    "long enough for their nonce and tag"
)


def _pieces(buf: bytes, offsets: array[int] | Sequence[int], what: str) -> list[bytes]:
    """The records of a flat buffer, after the checks vk_gcm_*_flat makes (same errors)."""
    if len(offsets) < 1:
        raise InputFormatError(f"{what} offsets are an array('Q') of count + 1 entries")
    if any(b < a for a, b in pairwise(offsets)) or offsets[-1] > len(buf):
        raise InputFormatError(_BAD_OFFSETS)
    return [buf[a:b] for a, b in pairwise(offsets)]


def _ads(ad: bytes, ad_offsets: array[int] | None, count: int) -> list[bytes]:
    if ad_offsets is None:
        return [ad] * count
    if len(ad_offsets) != count + 1:
        raise InputFormatError("associated data offsets are an array('Q') of count + 1 entries")
    return _pieces(ad, ad_offsets, "associated data")


def _offsets(pieces: list[bytes]) -> array[int]:
    out = array("Q", [0])
    for p in pieces:
        out.append(out[-1] + len(p))
    return out


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


class Records:
    """The records of one head (as ``vk_gcm_records``): ``seal`` gives head || nonce ||
    ciphertext || tag, nonce = base + counter, associated data head || ad; ``open`` reads one
    (its first len(head) bytes are not read: ``head`` is what the AD hashes)."""

    __slots__ = ("_base", "_gcm", "_head")

    def __init__(self, gcm: Gcm, head: bytes, base: bytes) -> None:
        if len(base) != _NONCE:
            raise ValueError("a record's nonce base must be 12 bytes")
        self._gcm, self._head, self._base = gcm, bytes(head), int.from_bytes(base, "big")

    def seal(self, counter: int, data: bytes, ad: bytes) -> bytes:
        if not 0 <= counter < 1 << 64:
            raise OverflowError("a record counter is 0..2^64 - 1")
        nonce = ((self._base + counter) % (1 << 96)).to_bytes(_NONCE, "big")
        return self._head + nonce + self._gcm.seal(nonce, data, self._head + ad)

    def open(self, record: bytes, ad: bytes) -> bytes | None:
        skip = len(self._head)
        if len(record) < skip + _NONCE + _TAG:
            return None
        body = skip + _NONCE
        return self._gcm.open(record[skip:body], record[body:], self._head + ad)


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

    def records(self, head: bytes, base: bytes = bytes(_NONCE)) -> Records:
        return Records(self, head, base)

    def seal_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes]:
        return [self.seal(n, d, a) for n, d, a in zip(nonces, datas, ads, strict=True)]

    def open_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes | None]:
        return [self.open(n, d, a) for n, d, a in zip(nonces, datas, ads, strict=True)]

    def seal_flat(
        self,
        nonces: bytes,
        data: bytes | bytearray,
        offsets: array[int],
        head: bytes,
        ad: bytes | bytearray,
        ad_offsets: array[int] | None,
    ) -> FlatSealed:
        """The flat layout over :meth:`seal`, one record at a time (the oracle of the C code)."""
        records = _pieces(bytes(data), offsets, "flat batch")
        ads = _ads(bytes(ad), ad_offsets, len(records))
        if len(nonces) != _NONCE * len(records):
            raise InputFormatError("a flat batch needs 12 nonce bytes per record")
        out = []
        for i, (record, a) in enumerate(zip(records, ads, strict=True)):
            nonce = nonces[_NONCE * i : _NONCE * (i + 1)]
            out.append(head + nonce + self.seal(nonce, record, a))
        return b"".join(out), _offsets(out)

    def open_flat(
        self,
        data: bytes | bytearray,
        offsets: array[int],
        skip: int,
        ad: bytes | bytearray,
        ad_offsets: array[int] | None,
    ) -> FlatOpened:
        """The flat layout over :meth:`open`; a failed record gives zeros, as in C."""
        if skip < 0:
            raise InputFormatError("skip is a number of bytes (>= 0)")
        records = _pieces(bytes(data), offsets, "flat batch")
        ads = _ads(bytes(ad), ad_offsets, len(records))
        if any(len(r) < skip + _NONCE + _TAG for r in records):
            raise InputFormatError(_BAD_OFFSETS)
        out = []
        failed: int | None = None
        for i, (record, a) in enumerate(zip(records, ads, strict=True)):
            body = record[skip + _NONCE :]
            plain = self.open(record[skip : skip + _NONCE], body, a)
            if plain is None:
                failed = i if failed is None else failed
                plain = bytes(len(body) - _TAG)
            out.append(plain)
        return b"".join(out), _offsets(out), failed
