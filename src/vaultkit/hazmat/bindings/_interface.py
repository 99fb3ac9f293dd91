"""The backend interface: what every implementation class of both backends provides.

Each backend has one module per area (``_native_<area>.py``, ``_reference_<area>.py``) defining
classes with these methods (docs/native.md, "Backend interface"). Arguments are taken as given
(the public ``vaultkit.hazmat`` classes and the recipes check them); what matters for memory
safety is re-checked before every C call. The constructors of :mod:`vaultkit.hazmat.bindings`
return these types.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from vaultkit.hazmat.bindings._native import CData

__all__ = [
    "BlockCipherImpl",
    "Cipher",
    "Ff1Digits",
    "Ff1Impl",
    "FlatOpened",
    "FlatSealed",
    "GcmImpl",
    "HmacSm3Impl",
    "RecordsImpl",
    "Sm3Impl",
    "TokenArea",
]

Cipher = Literal["SM4", "AES"]
"""The block cipher under a mode: SM4 (GB/T 32907-2016) or AES (FIPS 197)."""

Ff1Digits = tuple["Callable[[CData, bytes, int, bytes, int, int], int]", "CData"]
"""``vk_ff1_crypt_digits`` and one key's handle: ``call(handle, tweak, len(tweak), digits,
len(digits), decrypt)`` is the number the output digits spell, or 2^64 - 1 when the C call
refuses the input (the caller then takes the general path, which names the rule)."""

FlatSealed = tuple["bytes | bytearray", "array[int]"]
"""A flat batch's output: one buffer (the native backend hands up the buffer C wrote, a
bytearray) and the ``count + 1`` offsets of its records in it."""

FlatOpened = tuple["bytes | bytearray", "array[int]", "int | None"]
"""An opened flat batch: plaintext buffer, offsets, and the first record whose tag failed (or
None); a failed record's plaintext is all zero."""


class BlockCipherImpl(Protocol):
    """ECB over whole 16-byte blocks."""

    def encrypt_blocks(self, data: bytes) -> bytes: ...

    def decrypt_blocks(self, data: bytes) -> bytes: ...


class RecordsImpl(Protocol):
    """Records ``head || nonce || ciphertext || tag`` of one head under one GCM key, associated
    data ``head || ad``, one call each. ``seal(counter, data, ad)`` takes the nonce as ``base +
    counter`` (``base`` a 12-byte big-endian integer; SP 800-38D 8.2.1's deterministic
    construction: the caller keeps the counters distinct and below 2^64, base + counter < 2^96).
    ``open(record, ad)`` reads a record that begins with ``head`` (those bytes are not read:
    ``head`` is what the AD hashes) and gives None for a tag that does not verify or a record
    shorter than ``len(head) + 28`` bytes."""

    def seal(self, counter: int, data: bytes, ad: bytes) -> bytes: ...

    def open(self, record: bytes, ad: bytes) -> bytes | None: ...


class GcmImpl(Protocol):
    """GCM (SP 800-38D), 12-byte nonces, 16-byte tags, sealed output ciphertext || tag. ``open``
    and ``open_many`` give None for a tag that does not verify.

    The flat forms take one buffer of records, record i being ``data[offsets[i]:offsets[i + 1]]``
    (``offsets``: ``array('Q')`` of count + 1 entries), and one associated data for all
    (``ad_offsets`` None) or the flat buffer ``ad`` cut by ``ad_offsets``. ``seal_flat`` writes
    ``head || nonce i || ciphertext i || tag i`` per record; ``open_flat`` reads records
    ``skip bytes || nonce || ciphertext || tag`` and gives the plaintexts. Offsets that are not
    non-decreasing, end past their buffer or (opening) leave a record shorter than skip + 28
    bytes raise ``InputFormatError`` before any work.

    ``records(head, base)`` seals and opens messages stored as ``head || nonce || ciphertext ||
    tag`` whose associated data is ``head || ad`` (a field ciphertext: ``head`` its header), one
    call each (:class:`RecordsImpl`; ``base``, the nonce base of sealing, 12 zero bytes unless
    given)."""

    def seal(self, nonce: bytes, data: bytes, ad: bytes) -> bytes: ...

    def open(self, nonce: bytes, data: bytes, ad: bytes) -> bytes | None: ...

    def records(self, head: bytes, base: bytes = ...) -> RecordsImpl: ...

    def seal_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes]: ...

    def open_many(
        self, nonces: Sequence[bytes], datas: Sequence[bytes], ads: Sequence[bytes]
    ) -> list[bytes | None]: ...

    def seal_flat(
        self,
        nonces: bytes,
        data: bytes | bytearray,
        offsets: array[int],
        head: bytes,
        ad: bytes | bytearray,
        ad_offsets: array[int] | None,
    ) -> FlatSealed: ...

    def open_flat(
        self,
        data: bytes | bytearray,
        offsets: array[int],
        skip: int,
        ad: bytes | bytearray,
        ad_offsets: array[int] | None,
    ) -> FlatOpened: ...


class Ff1Impl(Protocol):
    """FF1 (SP 800-38G): numerals one byte each (radix <= 256) or two bytes little-endian."""

    def crypt(
        self, numerals: bytes, lengths: Sequence[int], tweak: bytes, decrypt: bool
    ) -> bytes: ...

    def crypt_one(self, numerals: bytes, tweak: bytes, decrypt: bool) -> bytes | bytearray: ...


class Sm3Impl(Protocol):
    """SM3 (GB/T 32905-2016)."""

    def digest(self, data: bytes) -> bytes: ...

    def digest_many(self, datas: Sequence[bytes]) -> list[bytes]: ...


class HmacSm3Impl(Protocol):
    """HMAC-SM3 (GM/T 0042-2015, RFC 2104) under the key given at construction.

    ``digest_flat`` takes a flat batch (message i = ``data[offsets[i]:offsets[i + 1]]``,
    ``offsets`` an ``array('Q')`` of count + 1 non-decreasing positions inside ``data``) and
    returns one buffer of ``size`` (1..32) bytes per message: the first ``size`` bytes of each
    digest, the last one ANDed with ``last_mask`` (blind indexes keep the first L bits)."""

    def digest(self, data: bytes) -> bytes: ...

    def digest_many(self, datas: Sequence[bytes]) -> list[bytes]: ...

    def digest_flat(
        self, data: bytes, offsets: array[int], size: int = 32, last_mask: int = 0xFF
    ) -> bytes: ...


class TokenArea(Protocol):
    """The native-only token area (``_native_token``): card and resident-ID token batches and
    blind-index rows in one C call each. ``ff1`` is a :class:`vaultkit.hazmat.ff1.FF1`."""

    def available(self) -> bool: ...

    def available_for(self, ff1: object) -> bool: ...

    def card(
        self,
        ff1: object,
        tweak: bytes,
        buf: bytearray,
        rows: int,
        stride: int,
        n: int,
        *,
        keep_prefix: int,
        keep_suffix: int,
        luhn_invalid: bool,
        decrypt: bool,
    ) -> int | None: ...

    def cn_id(
        self,
        ff1: object,
        tweak: bytes,
        buf: bytearray,
        rows: int,
        stride: int,
        *,
        keep_sex: bool,
        decrypt: bool,
    ) -> int | None: ...

    def hmac_sm3_rows_into(
        self,
        key: bytes | HmacSm3Impl,
        buf: bytes,
        rows: int,
        stride: int,
        width: int,
        bits: int,
        out: bytearray | memoryview,
        *,
        luhn: bool = False,
    ) -> bool: ...
