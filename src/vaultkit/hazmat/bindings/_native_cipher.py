"""Native backend, area "cipher": SM4 and AES blocks and GCM in C (native/src, vk_cipher.h).

Same classes and methods as ``_reference_cipher`` (``_interface``). Arguments are assumed valid
(the public ``vaultkit.hazmat`` classes check them); sizes that matter for memory safety are
re-checked here before every C call. Where the CPU lacks AES-NI, ``vk_cipher_new(VK_CIPHER_AES,
...)`` returns NULL: the classes then raise ``NoCpuSupport`` and :func:`make_gcm` /
:func:`make_block_cipher` return the reference implementation instead (OpenSSL). Key schedules
live in C memory, wiped by ``vk_cipher_free`` when the object is collected. Every call here runs
the C code; which calls go to OpenSSL instead is decided in ``vaultkit.hazmat._fast``.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from functools import lru_cache
from struct import Struct
from typing import TYPE_CHECKING, cast

from vaultkit._nopickle import NoPickle
from vaultkit.errors import InputFormatError, UnsupportedAlgorithmError
from vaultkit.hazmat.bindings import _reference_cipher, native
from vaultkit.hazmat.bindings._interface import (
    BlockCipherImpl,
    Cipher,
    FlatOpened,
    FlatSealed,
    GcmImpl,
)

if TYPE_CHECKING:
    from vaultkit.hazmat.bindings._native import Buffer, CData

__all__ = ["BlockCipher", "Gcm", "NoCpuSupport", "Records", "make_block_cipher", "make_gcm"]

_ffi, _lib = native()

_ALGORITHMS = {"SM4": _lib.VK_CIPHER_SM4, "AES": _lib.VK_CIPHER_AES}
_BLOCK = 16
# Output buffers are fully written by C before Python reads them: skip cffi's zero-filling.
_new_output = _ffi.new_allocator(should_clear_after_alloc=False)


def _algorithm_id(algorithm: str) -> int:
    try:
        return int(_ALGORITHMS[algorithm])
    except KeyError:
        raise ValueError("algorithm must be 'SM4' or 'AES'") from None


def _exact(data: bytes) -> bytes:
    """``data`` as exact ``bytes``: C gets a pointer and len(); a bytes subclass's len() may lie."""
    return data if type(data) is bytes else bytes(data)


class NoCpuSupport(UnsupportedAlgorithmError):
    """The CPU lacks what the C code needs for this cipher (AES without AES-NI)."""


def _refusal(algorithm: str, key: bytes) -> Exception:
    """Why vk_cipher_new / vk_gcm_new returned NULL."""
    if algorithm == "SM4" and len(key) == 16:
        return MemoryError("out of memory for the key schedule")
    if algorithm == "AES" and len(key) in (16, 24, 32):
        return NoCpuSupport("no AES-NI on this CPU")
    return ValueError("invalid key size")


def make_block_cipher(algorithm: Cipher, key: bytes) -> BlockCipherImpl:
    """The native BlockCipher, or the reference one where the CPU cannot run it."""
    try:
        return BlockCipher(algorithm, key)
    except NoCpuSupport:
        return _reference_cipher.BlockCipher(algorithm, key)


def make_gcm(algorithm: Cipher, key: bytes) -> GcmImpl:
    """The native Gcm, or the reference one where the CPU cannot run it."""
    try:
        return Gcm(algorithm, key)
    except NoCpuSupport:
        return _reference_cipher.Gcm(algorithm, key)


class _NoPickle(NoPickle):
    """Key-holding objects refuse pickling and never show material."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} (native)>"


class BlockCipher(_NoPickle):
    """ECB over whole 16-byte blocks with a C-owned key schedule."""

    __slots__ = ("_c",)
    _c: CData  # vk_cipher *, freed (wiped) by vk_cipher_free

    def __init__(self, algorithm: str, key: bytes) -> None:
        key = _exact(key)
        ptr = _lib.vk_cipher_new(_algorithm_id(algorithm), key, len(key))
        if ptr == _ffi.NULL:
            raise _refusal(algorithm, key)
        self._c = _ffi.gc(ptr, _lib.vk_cipher_free)

    def encrypt_blocks(self, data: bytes) -> bytes:
        data = _exact(data)
        n = len(data)
        if n % _BLOCK:
            raise ValueError("data must be a whole number of 16-byte blocks")
        out = _new_output("uint8_t[]", max(n, 1))
        _lib.vk_cipher_encrypt_blocks(self._c, data, out, n // _BLOCK)
        return _ffi.buffer(out, n)[:]

    def decrypt_blocks(self, data: bytes) -> bytes:
        data = _exact(data)
        n = len(data)
        if n % _BLOCK:
            raise ValueError("data must be a whole number of 16-byte blocks")
        out = _new_output("uint8_t[]", max(n, 1))
        _lib.vk_cipher_decrypt_blocks(self._c, data, out, n // _BLOCK)
        return _ffi.buffer(out, n)[:]


_TAG = 16
_NONCE = 12


class _Batch:
    """The batch calls' layout: flat nonces, flat fields + uint32 lengths, and either one shared
    associated data (when all are equal: it is then hashed once) or flat ADs + uint32 lengths.

    Memory safety only needs the totals to match: C reads exactly 12 * count nonce bytes and
    sum(lengths) bytes of each flat buffer (and writes as many, plus the tags), so the lengths,
    taken with len(), are checked against the joined buffers: an item whose len() is not its
    byte count (a memoryview of wider items, a bytes subclass) is refused."""

    __slots__ = ("ad_lens", "ads", "count", "data", "lens", "nonces", "shared_ad_len", "uniform")

    def __init__(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> None:
        count = self.count = len(datas)
        self.nonces = b"".join(nonces)
        if len(self.nonces) != _NONCE * count or len(ads) != count:
            raise ValueError("need one 12-byte nonce and one associated data per field")
        try:
            self.lens = array("I", map(len, datas))
            # all fields the same size (the common case); array.count is far cheaper than min/max
            self.uniform = count > 0 and self.lens.count(self.lens[0]) == count
            if count and ads.count(ads[0]) == count:
                ad = bytes(ads[0])
                self.ads, self.ad_lens, self.shared_ad_len = ad, _ffi.NULL, len(ad)
            else:
                lens = array("I", map(len, ads))
                self.ads, self.ad_lens, self.shared_ad_len = (
                    b"".join(ads), _ffi.from_buffer("uint32_t[]", lens), 0,
                )  # fmt: skip
                if sum(lens) != len(self.ads):
                    raise TypeError("every associated data must be bytes")
        except OverflowError:
            raise ValueError("a field is too long for the batch call (2**32 - 1 bytes)") from None
        self.data = b"".join(datas)
        size = self.lens[0] * count if self.uniform else sum(self.lens)
        if size != len(self.data):  # never trust len() of an item for memory
            raise TypeError("every field must be bytes")

    def c_lens(self) -> CData:
        return _ffi.from_buffer("uint32_t[]", self.lens)


_ZERO = (0,)
_BAD_OFFSETS = (
    "flat batch offsets must be count + 1 non-decreasing positions inside the buffer, records "
    "long enough for their nonce and tag"
)


def _flat_count(offsets: array[int], ad_offsets: array[int] | None) -> int:
    """Records in a flat batch, after the checks C relies on for the arrays themselves (C checks
    their values): uint64 arrays of count + 1 entries."""
    if type(offsets) is not array or offsets.typecode != "Q" or len(offsets) < 1:
        raise InputFormatError("flat batch offsets are an array('Q') of count + 1 entries")
    count = len(offsets) - 1
    if ad_offsets is not None and (
        type(ad_offsets) is not array or ad_offsets.typecode != "Q" or len(ad_offsets) != count + 1
    ):
        raise InputFormatError("associated data offsets are an array('Q') of count + 1 entries")
    return count


def _readable(data: bytes | bytearray) -> bytes | CData:
    """``data`` for a C ``const uint8_t *`` whose length is len(data): exact bytes as they are,
    a bytearray through its buffer (no copy), anything else copied into bytes."""
    if type(data) is bytes:
        return data
    if type(data) is bytearray:
        return _ffi.from_buffer(data)
    return bytes(data)


def _c_offsets(offsets: array[int] | None) -> CData:
    return _ffi.NULL if offsets is None else _ffi.from_buffer("uint64_t[]", offsets)


_UNPACK_RUN = 1024  # fields cut per struct.unpack_from call
_SMALL_BATCH = 2  # up to this many fields, single calls cost less than the batch set-up


@lru_cache(maxsize=16)
def _cutter(width: int) -> Struct:
    """Cuts _UNPACK_RUN consecutive pieces of `width` bytes in one C call."""
    return Struct(f"{width}s" * _UNPACK_RUN)


def _split(buf: Buffer, lens: array[int], extra: int, uniform: bool) -> list[bytes]:
    """buf (a cffi buffer: slices and struct read it without an intermediate copy) cut into
    consecutive bytes objects of lens[i] + extra bytes; `uniform`: all lens are equal."""
    count = len(lens)
    if uniform:  # equal sizes: struct cuts runs of them in C, slices the rest
        width = lens[0] + extra
        if width == 0:
            return [b""] * count
        whole = count // _UNPACK_RUN * _UNPACK_RUN * width
        if not whole:
            return [buf[i : i + width] for i in range(0, count * width, width)]
        out: list[bytes] = []
        cutter = _cutter(width)
        for off in range(0, whole, _UNPACK_RUN * width):
            out.extend(cutter.unpack_from(buf, off))
        out.extend(buf[i : i + width] for i in range(whole, count * width, width))
        return out
    out = []
    pos = 0
    for n in lens:
        end = pos + n + extra
        out.append(buf[pos:end])
        pos = end
    return out


def _writes_into_bytes() -> bool:
    """Whether C writes through a fresh ``bytes`` argument land in that object.

    cffi passes a ``bytes`` argument of a ``uint8_t *`` parameter as a pointer to the object's
    own data (CPython; "the C code won't modify it" is cffi's assumption, not a check), so C can
    fill a ``bytes(n)`` (n >= 1: a fresh object no one else holds yet, hash not computed) the way
    a C extension fills ``PyBytes_FromStringAndSize(NULL, n)``: the record calls then return the
    object C wrote, without a C buffer, a copy, or (opening) a wipe of the copied-from buffer.
    Where an implementation copies the argument instead, the record calls write into cffi
    buffers and copy out."""
    size = int(_lib.VK_SM3_DIGEST_SIZE)
    probe = bytes(size)
    _lib.vk_sm3_digest(b"", 0, probe)  # SM3("") is not all zero
    return probe != bytes(size) and bytes(1) is not bytes(1)  # and bytes(1) is a new object


_BYTES_OUT = _writes_into_bytes()
# the per-field calls, bound once: no attribute lookup on ``_lib`` per field
_records_seal = _lib.vk_gcm_records_seal
_records_open = _lib.vk_gcm_records_open


class Records(_NoPickle):
    """The records of one head under one GCM key (``vk_gcm_records``: head, the GHASH of its
    whole blocks and the nonce base kept in C), one C call each: ``seal`` writes head || nonce ||
    ciphertext || tag (nonce = base + counter), ``open`` reads one."""

    __slots__ = ("_extra", "_gcm", "_r")
    _r: CData  # vk_gcm_records *, freed (wiped) by vk_gcm_records_free

    def __init__(self, gcm: Gcm, head: bytes, base: bytes) -> None:
        head, base = _exact(head), _exact(base)
        if len(base) != _NONCE:
            raise ValueError("a record's nonce base must be 12 bytes")
        ptr = _lib.vk_gcm_records_new(gcm._g, head, len(head), base)
        if ptr == _ffi.NULL:
            raise MemoryError
        self._gcm = gcm  # vk_gcm_records borrows its vk_gcm: kept alive as long as this object
        self._r = _ffi.gc(ptr, _lib.vk_gcm_records_free)
        self._extra = len(head) + _NONCE + _TAG  # a record's bytes besides its plaintext

    def seal(self, counter: int, data: bytes, ad: bytes) -> bytes:
        if not type(data) is type(ad) is bytes:
            data, ad = _exact(data), _exact(ad)
        # counter outside 0..2^64 - 1: cffi raises OverflowError before the call
        if _BYTES_OUT:  # C writes the record into the object returned (at least 28 bytes)
            record = bytes(self._extra + len(data))
            _records_seal(self._r, counter, data, len(data), ad, len(ad), record)
            return record
        size = self._extra + len(data)
        out = _new_output("uint8_t[]", size)
        _records_seal(self._r, counter, data, len(data), ad, len(ad), out)
        return _ffi.buffer(out, size)[:]

    def open(self, record: bytes, ad: bytes) -> bytes | None:
        if not type(record) is type(ad) is bytes:
            record, ad = _exact(record), _exact(ad)
        n = len(record) - self._extra
        if n < 0:
            return None
        if _BYTES_OUT:  # C writes the plaintext into the object returned: nothing to wipe
            plain = bytes(n)  # n == 0: the shared b"", which C does not write (no byte)
            if _records_open(self._r, record, len(record), ad, len(ad), plain):
                return None  # plain all zero (C masks the plaintext of a failed tag)
            return plain
        out = _new_output("uint8_t[]", n or 1)
        if _records_open(self._r, record, len(record), ad, len(ad), out):
            return None  # out all zero
        plain = _ffi.buffer(out, n)[:]
        _lib.vk_wipe(out, n)
        return plain


class Gcm(_NoPickle):
    """NIST SP 800-38D GCM, 12-byte nonces, 16-byte tags; sealed output is ciphertext || tag.

    The batch methods make one C call for all fields: the inputs are joined into flat buffers
    with uint32 length arrays, the output is one buffer sliced per field. The flat methods take
    and give one buffer of records with uint64 offsets (no per-field join or slice at all).
    """

    __slots__ = ("_g",)
    _g: CData  # vk_gcm *, freed (wiped) by vk_gcm_free

    def __init__(self, algorithm: str, key: bytes) -> None:
        key = _exact(key)
        ptr = _lib.vk_gcm_new(_algorithm_id(algorithm), key, len(key))
        if ptr == _ffi.NULL:
            raise _refusal(algorithm, key)
        self._g = _ffi.gc(ptr, _lib.vk_gcm_free)

    def seal(self, nonce: bytes, data: bytes, ad: bytes) -> bytes:
        nonce, data, ad = _exact(nonce), _exact(data), _exact(ad)
        if len(nonce) != _NONCE:
            raise ValueError("nonce must be 12 bytes")
        n = len(data)
        out = _new_output("uint8_t[]", n + _TAG)
        _lib.vk_gcm_seal(self._g, nonce, data, n, ad, len(ad), out)
        return _ffi.buffer(out, n + _TAG)[:]

    def open(self, nonce: bytes, data: bytes, ad: bytes) -> bytes | None:
        nonce, data, ad = _exact(nonce), _exact(data), _exact(ad)
        if len(nonce) != _NONCE:
            raise ValueError("nonce must be 12 bytes")
        n = len(data)
        if n < _TAG:
            return None
        out = _new_output("uint8_t[]", max(n - _TAG, 1))
        if _lib.vk_gcm_open(self._g, nonce, data, n, ad, len(ad), out) != 0:
            return None
        return _ffi.buffer(out, n - _TAG)[:]

    # the C code whatever the cipher (kept for the tests that compare it with OpenSSL)
    seal_native = seal
    open_native = open

    def records(self, head: bytes, base: bytes = bytes(_NONCE)) -> Records:
        return Records(self, head, base)

    def seal_flat(
        self,
        nonces: bytes,
        data: bytes | bytearray,
        offsets: array[int],
        head: bytes,
        ad: bytes | bytearray,
        ad_offsets: array[int] | None,
    ) -> FlatSealed:
        nonces, head = _exact(nonces), _exact(head)
        count = _flat_count(offsets, ad_offsets)
        if len(nonces) != _NONCE * count:
            raise InputFormatError("a flat batch needs 12 nonce bytes per record")
        total = offsets[count] - offsets[0] + count * (len(head) + _NONCE + _TAG)
        if total < 0:
            raise InputFormatError(_BAD_OFFSETS)
        # the output is handed up as it is (a copy of a large fresh buffer costs page faults)
        out = bytearray(max(total, 1))
        out_offsets = array("Q", _ZERO) * (count + 1)
        rc = _lib.vk_gcm_seal_flat(
            self._g, count, nonces, _readable(data), len(data),
            _ffi.from_buffer("uint64_t[]", offsets), head, len(head), _readable(ad), len(ad),
            _c_offsets(ad_offsets), _ffi.from_buffer(out),
            _ffi.from_buffer("uint64_t[]", out_offsets),
        )  # fmt: skip
        if rc < 0:
            raise InputFormatError(_BAD_OFFSETS)
        return (out if total else bytearray()), out_offsets

    def open_flat(
        self,
        data: bytes | bytearray,
        offsets: array[int],
        skip: int,
        ad: bytes | bytearray,
        ad_offsets: array[int] | None,
    ) -> FlatOpened:
        count = _flat_count(offsets, ad_offsets)
        if skip < 0:
            raise InputFormatError("skip is a number of bytes (>= 0)")
        total = offsets[count] - offsets[0] - count * (skip + _NONCE + _TAG)
        if total < 0:
            raise InputFormatError(_BAD_OFFSETS)
        out = bytearray(max(total, 1))
        ok = _new_output("uint8_t[]", max(count, 1))
        out_offsets = array("Q", _ZERO) * (count + 1)
        rc = _lib.vk_gcm_open_flat(
            self._g, count, _readable(data), len(data), _ffi.from_buffer("uint64_t[]", offsets),
            skip, _readable(ad), len(ad), _c_offsets(ad_offsets), _ffi.from_buffer(out),
            _ffi.from_buffer("uint64_t[]", out_offsets), ok,
        )  # fmt: skip
        if rc < 0:
            raise InputFormatError(_BAD_OFFSETS)
        failed = _ffi.buffer(ok, count)[:].find(0) if rc else -1
        return (out if total else bytearray()), out_offsets, None if failed < 0 else failed

    def seal_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes]:
        if len(datas) <= _SMALL_BATCH:
            return [self.seal(n, d, a) for n, d, a in zip(nonces, datas, ads, strict=True)]
        b = _Batch(nonces, datas, ads)
        total = len(b.data) + _TAG * b.count
        out = _new_output("uint8_t[]", total)
        _lib.vk_gcm_seal_many(
            self._g, b.count, b.nonces, b.data, b.c_lens(), b.ads, b.ad_lens, b.shared_ad_len, out
        )
        return _split(_ffi.buffer(out, total), b.lens, _TAG, b.uniform)

    def open_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes | None]:
        if len(datas) <= _SMALL_BATCH:
            return [self.open(n, d, a) for n, d, a in zip(nonces, datas, ads, strict=True)]
        b = _Batch(nonces, datas, ads)
        lens = b.lens
        # too short to hold a tag: rejected, no output space in C
        short = lens[0] < _TAG if b.uniform else min(lens) < _TAG
        total = sum(n - _TAG for n in lens if n >= _TAG) if short else len(b.data) - _TAG * b.count
        out = _new_output("uint8_t[]", max(total, 1))
        ok = _new_output("uint8_t[]", b.count)
        failures = _lib.vk_gcm_open_many(
            self._g, b.count, b.nonces, b.data, b.c_lens(), b.ads, b.ad_lens, b.shared_ad_len,
            out, ok,
        )  # fmt: skip
        buf = _ffi.buffer(out, total)
        pieces: list[bytes | None]
        if not short:
            pieces = cast("list[bytes | None]", _split(buf, lens, -_TAG, b.uniform))
        else:
            pieces = []
            pos = 0
            for n in lens:
                if n < _TAG:
                    pieces.append(None)
                else:
                    pieces.append(buf[pos : pos + n - _TAG])
                    pos += n - _TAG
        if failures:
            for i, good in enumerate(_ffi.buffer(ok, b.count)[:]):
                if not good:
                    pieces[i] = None
        return pieces
