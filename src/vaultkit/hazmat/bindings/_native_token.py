"""Native backend, area "token": batches of structured identifiers in C (native/src/token.c,
declared in vk_token.h): the card and resident ID token formats, one call per batch over the
native FF1 (``_native_ff1``), and blind indexes (Luhn check, truncated HMAC-SM3) of batches
already in normal form.

Used by :mod:`vaultkit.tokens` (``CardFormat``, ``CnIdFormat``) when the native backend is in
use and the FF1 object runs on the native FF1, and by :mod:`vaultkit.blindindex` for HMAC-SM3
keys; otherwise the recipes run their pure-Python path, which gives the same results and is the
reference of the scheme. There is no reference module for this area: the fallback lives in the
recipes themselves.

The token functions work in place on a ``bytearray`` of ASCII rows ``stride`` bytes apart and
return ``None`` on success or the index of the first row that is not valid input (the buffer is
then unspecified: the recipe starts again from the values and names the rule that failed).
Arguments are checked here before the C call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vaultkit.hazmat.bindings import _native_ff1, _native_hash, backend, native

if TYPE_CHECKING:
    from vaultkit.hazmat.bindings._interface import HmacSm3Impl
    from vaultkit.hazmat.bindings._native import CData

__all__ = ["available", "available_for", "card", "cn_id", "hmac_sm3_rows", "hmac_sm3_rows_into"]

_ffi, _lib = native()

_CARD_MIN, _CARD_MAX = 8, 28  # digits per row the C Luhn code takes
_ID_LEN = 18


def available() -> bool:
    """True if the native backend is in use (for the blind-index functions)."""
    return backend() == "native"


def available_for(ff1: object) -> bool:
    """True if ``ff1`` (a :class:`vaultkit.hazmat.ff1.FF1`) is a radix-10 FF1 on the native FF1
    and the native backend is in use."""
    impl = getattr(ff1, "_impl", None)
    return (
        backend() == "native"
        and type(impl) is _native_ff1.Ff1
        and getattr(ff1, "radix", None) == 10
    )


def _handle(ff1: object) -> CData:
    impl = getattr(ff1, "_impl", None)
    if not available_for(ff1) or not isinstance(impl, _native_ff1.Ff1):
        raise ValueError("the native token area needs a radix-10 native FF1")
    return impl._f


def _check_buffer(buf: bytearray, rows: int, stride: int, width: int) -> None:
    if type(buf) is not bytearray:
        raise TypeError("buf must be a bytearray")
    if rows < 0 or stride < width or (rows and len(buf) < (rows - 1) * stride + width):
        raise ValueError("buffer too short for the rows")


def _result(rc: int) -> int | None:
    if rc == 0:
        return None
    if rc < 0:
        raise MemoryError("token work space")
    return rc - 1


def card(
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
) -> int | None:
    """``CardFormat`` on ``rows`` rows of ``n`` digits; see ``vk_token_card``."""
    f = _handle(ff1)
    if type(tweak) is not bytes:
        tweak = bytes(tweak)
    if not _CARD_MIN <= n <= _CARD_MAX or min(keep_prefix, keep_suffix) < 0:
        raise ValueError("card rows are 8..28 digits")
    if keep_prefix + keep_suffix + 6 > n:
        raise ValueError("card rows need at least 6 digits to encrypt")
    _check_buffer(buf, rows, stride, n)
    rc = _lib.vk_token_card(
        f, tweak, len(tweak), _ffi.from_buffer(buf), rows, stride, n,
        keep_prefix, keep_suffix, bool(luhn_invalid), bool(decrypt),
    )  # fmt: skip
    return _result(rc)


def cn_id(
    ff1: object,
    tweak: bytes,
    buf: bytearray,
    rows: int,
    stride: int,
    *,
    keep_sex: bool,
    decrypt: bool,
) -> int | None:
    """``CnIdFormat`` on ``rows`` rows of 18 characters; see ``vk_token_cn_id``."""
    f = _handle(ff1)
    if type(tweak) is not bytes:
        tweak = bytes(tweak)
    _check_buffer(buf, rows, stride, _ID_LEN)
    rc = _lib.vk_token_cn_id(
        f, tweak, len(tweak), _ffi.from_buffer(buf), rows, stride, bool(keep_sex), bool(decrypt)
    )
    return _result(rc)


def _rows_args(
    key: bytes | HmacSm3Impl, buf: bytes, rows: int, stride: int, width: int, bits: int, luhn: bool
) -> tuple[_native_hash.HmacSm3 | bytes, bytes, int, int]:
    """The checked arguments of a blind-index call: (the native keyed object or the key bytes,
    the buffer, bytes per index, the mask of the index's last byte)."""
    if type(buf) is not bytes:
        buf = bytes(buf)
    if type(key) is not _native_hash.HmacSm3 and type(key) is not bytes:
        key = bytes(key)  # type: ignore[arg-type]  # bytes-like
    if not 1 <= bits <= 256 or rows < 0 or width < 0 or stride < width:
        raise ValueError("bits in 1..256 and rows inside the buffer")
    if luhn and not _CARD_MIN <= width <= _CARD_MAX:
        raise ValueError("Luhn rows are 8..28 digits")
    if rows and len(buf) < (rows - 1) * stride + width:
        raise ValueError("buffer too short for the rows")
    size, rest = -(-bits // 8), bits % 8
    mask = (0xFF << (8 - rest)) & 0xFF if rest else 0xFF
    return key, buf, size, mask


def hmac_sm3_rows(
    key: bytes | HmacSm3Impl,
    buf: bytes,
    rows: int,
    stride: int,
    width: int,
    bits: int,
    *,
    luhn: bool = False,
) -> bytes | None:
    """Per row (``width`` bytes every ``stride``), the first ``bits`` bits of HMAC-SM3 under
    ``key`` as ceil(bits / 8) bytes, the unused low bits of the last byte zero, all rows in one
    flat buffer (index i at ``i * ceil(bits / 8)``: the caller slices). With ``luhn``, every row
    must be ASCII digits passing Luhn (card numbers in normal form); None if one is not.
    ``key`` may be a native :class:`~._native_hash.HmacSm3`: its keyed chaining values are used
    as they are (a caller that keeps one per key saves their two compressions per call)."""
    out = bytearray(max(rows, 0) * max(-(-bits // 8), 0))  # the sizes are checked in _into
    if not hmac_sm3_rows_into(key, buf, rows, stride, width, bits, out, luhn=luhn):
        return None
    return bytes(out)


def hmac_sm3_rows_into(
    key: bytes | HmacSm3Impl,
    buf: bytes,
    rows: int,
    stride: int,
    width: int,
    bits: int,
    out: bytearray | memoryview,
    *,
    luhn: bool = False,
) -> bool:
    """:func:`hmac_sm3_rows` written into ``out`` (writable, exactly ``rows * ceil(bits / 8)``
    bytes: a caller cutting a large batch into chunks fills one buffer); False if a row is not
    a valid card number (``luhn``; ``out`` is then unspecified)."""
    checked, buf, size, mask = _rows_args(key, buf, rows, stride, width, bits, luhn)
    if len(out) != rows * size:  # a memoryview of bytes: len() counts its items
        raise ValueError("out must hold rows * ceil(bits / 8) bytes")
    if not rows:
        return True
    target = _ffi.from_buffer("uint8_t[]", out, require_writable=True)
    # one C call; False if a row is not a valid card number (``luhn``)
    if type(checked) is _native_hash.HmacSm3:
        h, own = checked._h, False
    else:  # key bytes: a keyed state for this call
        h, own = _lib.vk_hmac_sm3_new(checked, len(checked)), True  # type: ignore[arg-type]
    if h == _ffi.NULL:
        raise MemoryError("HMAC-SM3 key")
    try:
        rc = _lib.vk_token_hmac_sm3_rows(h, buf, rows, stride, width, luhn, target, size, mask)
    finally:
        if own:
            _lib.vk_hmac_sm3_free(h)
    if rc < 0:
        raise MemoryError("blind index work space")
    return rc == 0
