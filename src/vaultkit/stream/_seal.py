"""Keys of one stream and STREAM chunk sealing.

Each file has a fresh random 32-byte file key (the DEK the recipients wrap). From it, HKDF
(RFC 5869) with HMAC-SM3 for SM4-GCM streams or HMAC-SHA256 for AES-256-GCM streams, salt empty
and info ``"vaultkit stream v1" || header bytes 0..16``, derives in order:

* the chunk key (16 bytes for SM4, 32 for AES),
* the 32-byte key commitment stored in the header,
* the 32-byte header MAC key.

Chunk ``i`` (from 0) is GCM under the chunk key with nonce ``prefix (7) || i (uint32 BE) ||
last (1: 0x01 on the final chunk, else 0x00)`` (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015, STREAM) and the
header core (49 bytes, 57 in signed v2 streams) as associated data. The version byte is part of
the HKDF info, so a v1 and a v2 stream never share keys.
"""

from __future__ import annotations

import hmac
import os
import struct
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from vaultkit._nopickle import NoPickle
from vaultkit.errors import DecryptionError, InputFormatError
from vaultkit.hazmat import _fast
from vaultkit.hazmat.aead import AES256GCM, SM4GCM
from vaultkit.hazmat.hashes import hmac_sha256, hmac_sm3
from vaultkit.keys import Algorithm
from vaultkit.stream._format import (
    COMMITMENT_SIZE,
    MAC_SIZE,
    NONCE_PREFIX_SIZE,
    Header,
    Params,
    Stanza,
    mac_input,
)
from vaultkit.stream._recipients import Identity, Recipient
from vaultkit.stream._signing import Signer, header_message

__all__ = [
    "FILE_KEY_SIZE",
    "ChunkCipher",
    "FileKeys",
    "batch_count",
    "build_header",
    "new_file_key",
    "new_nonce_prefix",
    "restanza",
    "unlock",
]

FILE_KEY_SIZE = 32
_INFO = b"vaultkit stream v1"
_COUNTER_LIMIT = 1 << 32  # the 4-byte counter; more chunks would repeat a nonce
_NONCE_TAIL = struct.Struct(">IB")
# Chunks per round (read, seal, write). Measured on 64 KiB chunks: on one thread a small working
# set that stays in cache wins (64 KiB); on two threads each needs enough work per handoff
# (256 KiB per round, 128 KiB per thread). Bigger rounds were slower on both.
_SERIAL_ROUND = 1 << 16
_PARALLEL_ROUND = 1 << 18
_BATCH_BELOW = 4096  # chunk size under which chunks are sealed with one *_many call


def batch_count(chunk_size: int, *, parallel: bool) -> int:
    """Chunks per round; at least 2 on two threads (one each)."""
    if parallel:
        return max(2, _PARALLEL_ROUND // chunk_size)
    return max(1, _SERIAL_ROUND // chunk_size)


def new_file_key() -> bytes:
    return os.urandom(FILE_KEY_SIZE)


def new_nonce_prefix() -> bytes:
    return os.urandom(NONCE_PREFIX_SIZE)


def _hmac_for(algorithm: Algorithm) -> Callable[[bytes, bytes], bytes]:
    return hmac_sm3 if algorithm is Algorithm.SM4_GCM else hmac_sha256


def _hkdf(mac: Callable[[bytes, bytes], bytes], ikm: bytes, info: bytes, length: int) -> bytes:
    prk = mac(b"\x00" * 32, ikm)  # RFC 5869 2.2: salt not provided -> HashLen zero bytes
    okm, block, counter = b"", b"", 1
    while len(okm) < length:  # RFC 5869 2.3: T(i) = HMAC(PRK, T(i-1) || info || i)
        block = mac(prk, block + info + bytes((counter,)))
        okm += block
        counter += 1
    return okm[:length]


class FileKeys(NoPickle):
    """Keys derived from one file key. Secret: no repr of the material, no pickling."""

    __slots__ = ("_mac", "chunk_key", "commitment", "mac_key")

    def __init__(self, params: Params, file_key: bytes) -> None:
        if len(file_key) != FILE_KEY_SIZE:
            raise DecryptionError()
        self._mac = _hmac_for(params.algorithm)
        size = params.algorithm.key_size
        okm = _hkdf(self._mac, file_key, _INFO + params.encode(), size + COMMITMENT_SIZE + MAC_SIZE)
        self.chunk_key = okm[:size]
        self.commitment = okm[size : size + COMMITMENT_SIZE]
        self.mac_key = okm[size + COMMITMENT_SIZE :]

    def header_mac(self, mac_input: bytes) -> bytes:
        return self._mac(self.mac_key, mac_input)

    def verify(self, header: Header) -> None:
        """Raise ``DecryptionError`` unless this key is the one the header commits to and the
        header (recipients included) is intact."""
        ok = hmac.compare_digest(self.commitment, header.commitment)
        ok &= hmac.compare_digest(self.header_mac(header.mac_input()), header.mac)
        if not ok:
            raise DecryptionError()

    def __repr__(self) -> str:
        return "<FileKeys (hidden)>"


def build_header(
    params: Params,
    file_key: bytes,
    recipients: Sequence[Recipient],
    signer: Signer | None = None,
) -> tuple[Header, FileKeys]:
    """A new header: commitment, (v2: signer and header signature), one stanza per recipient
    (in order), MAC. ``params.signed`` must match whether a ``signer`` is given."""
    if params.signed != (signer is not None):
        raise ValueError("signed streams are format v2, unsigned ones v1")
    keys = FileKeys(params, file_key)
    signer_id = b"" if signer is None else signer.fingerprint
    core = params.encode() + keys.commitment + signer_id
    signature = b"" if signer is None else signer.sign(header_message(core))
    stanzas = [r.wrap_file_key(file_key, core=core) for r in recipients]
    return restanza(params, keys, stanzas, signer_id, signature), keys


def restanza(
    params: Params,
    keys: FileKeys,
    stanzas: Sequence[Stanza],
    signer: bytes = b"",
    signature: bytes = b"",
) -> Header:
    """The header of the same file (same core, same signature) with another recipient set,
    MAC recomputed."""
    core = params.encode() + keys.commitment + signer
    block = signature if params.signed else None
    mac = keys.header_mac(mac_input(core, tuple(stanzas), block))
    return Header(params, keys.commitment, tuple(stanzas), mac, signer, signature)


def unlock(header: Header, identities: Sequence[Identity]) -> tuple[bytes, FileKeys]:
    """The file key and its derived keys, from the first stanza an identity opens and whose key
    reproduces the commitment and the header MAC; ``DecryptionError`` when none does."""
    core = header.core
    for stanza in header.stanzas:
        for identity in identities:
            file_key = identity.unwrap_file_key(stanza, core=core)
            if file_key is None or len(file_key) != FILE_KEY_SIZE:
                continue
            keys = FileKeys(header.params, file_key)
            try:
                keys.verify(header)
            except DecryptionError:
                continue
            return file_key, keys
    raise DecryptionError()


class ChunkCipher(NoPickle):
    """Seals and opens the chunks of one stream, in batches, on two threads for large batches.

    ``seal(index, chunks, last)``: ``chunks[k]`` becomes chunk ``index + k``; ``last`` marks the
    final element as the stream's final chunk. The caller guarantees the order.
    """

    __slots__ = ("_aead", "_core", "_direct", "_parallel", "_pool", "_prefix", "batch")

    def __init__(self, params: Params, keys: FileKeys, core: bytes) -> None:
        aead = SM4GCM if params.algorithm is Algorithm.SM4_GCM else AES256GCM
        self._aead = aead(keys.chunk_key)
        # Where hazmat says one call per chunk into the caller's reused buffers is the fastest
        # (AES-256-GCM chunks of 4 KiB and more: OpenSSL), chunks go one at a time through
        # seal_into/open_into: no copy of a chunk or a record besides reading and writing it.
        self._direct = _fast.gcm_into(params.algorithm, keys.chunk_key, params.chunk_size)
        self._core = core
        self._prefix = params.nonce_prefix
        # Only the native backend's SM4 releases the GIL (cffi); a second thread would only add
        # locking to the reference backend and to AES, which OpenSSL seals faster on one core.
        self._parallel = _fast.gcm_releases_gil(params.algorithm)
        self.batch = batch_count(params.chunk_size, parallel=self._parallel)
        if self._direct is not None:
            self.batch = 1  # one chunk per round: the working set stays in cache
        self._pool: ThreadPoolExecutor | None = None

    @property
    def direct(self) -> bool:
        """Whether :meth:`seal_into` and :meth:`open_into` are available (``_fast.gcm_into``:
        AES-256-GCM chunks of at least 4 KiB)."""
        return self._direct is not None

    def _nonce(self, index: int, last: bool) -> bytes:
        if index >= _COUNTER_LIMIT:
            raise InputFormatError("stream too long: at most 2^32 chunks")
        return self._prefix + _NONCE_TAIL.pack(index, 1 if last else 0)

    def seal_into(self, index: int, chunk: memoryview, last: bool, out: memoryview) -> memoryview:
        """Chunk ``index`` sealed into the start of ``out`` (at least ``len(chunk) + 16``
        bytes); returns the record, a view of ``out`` valid until ``out`` is reused."""
        if self._direct is None:
            raise ValueError("seal_into needs a direct (AES-256-GCM) cipher")
        return self._direct.seal_into(self._nonce(index, last), chunk, self._core, out)

    def open_into(self, index: int, record: memoryview, last: bool, out: memoryview) -> memoryview:
        """The plaintext of record ``index`` in the start of ``out``; ``DecryptionError`` (and
        ``out`` wiped) when it does not authenticate."""
        if self._direct is None:
            raise ValueError("open_into needs a direct (AES-256-GCM) cipher")
        plain = self._direct.open_into(self._nonce(index, last), record, self._core, out)
        if plain is None:
            raise DecryptionError()
        return plain

    def _nonces(self, index: int, count: int, last: bool) -> list[bytes]:
        if index + count > _COUNTER_LIMIT:
            raise InputFormatError("stream too long: at most 2^32 chunks")
        p, pack = self._prefix, _NONCE_TAIL.pack
        out = [p + pack(i, 0) for i in range(index, index + count)]
        if last and out:
            out[-1] = p + pack(index + count - 1, 1)
        return out

    def seal(self, index: int, chunks: Sequence[bytes], last: bool) -> list[bytes]:
        return self._run(self._seal, index, chunks, last)

    def open(self, index: int, records: Sequence[bytes], last: bool) -> list[bytes]:
        """The plaintexts; ``DecryptionError`` if any record fails (nothing is returned)."""
        try:
            return self._run(self._open, index, records, last)
        except DecryptionError:
            raise DecryptionError() from None  # opaque: not even which chunk

    # Small chunks go through one batch call; large ones one call each, which measured faster
    # (a batch call joins and splits its items, copying every byte twice more).
    def _seal(self, nonces: list[bytes], items: list[bytes]) -> list[bytes]:
        if len(items[0]) < _BATCH_BELOW:
            return self._aead.encrypt_many(nonces, items, [self._core] * len(items))
        seal, core = self._aead.encrypt, self._core
        return [seal(n, x, core) for n, x in zip(nonces, items, strict=True)]

    def _open(self, nonces: list[bytes], items: list[bytes]) -> list[bytes]:
        if len(items[0]) < _BATCH_BELOW:
            return self._aead.decrypt_many(nonces, items, [self._core] * len(items))
        open_, core = self._aead.decrypt, self._core
        return [open_(n, x, core) for n, x in zip(nonces, items, strict=True)]

    def _run(
        self,
        fn: Callable[[list[bytes], list[bytes]], list[bytes]],
        index: int,
        items: Sequence[bytes],
        last: bool,
    ) -> list[bytes]:
        nonces = self._nonces(index, len(items), last)
        items = list(items)
        if not items:
            return []
        if not self._parallel or len(items) < 2:
            return fn(nonces, items)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="vaultkit-stream")
        half = len(items) // 2  # this thread and the pool's thread: both cores
        second: Future[list[bytes]] = self._pool.submit(fn, nonces[half:], items[half:])
        first = fn(nonces[:half], items[:half])
        return first + second.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __repr__(self) -> str:
        return "<ChunkCipher (key hidden)>"
