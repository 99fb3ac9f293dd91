"""Native backend, area "token": the card and resident ID token formats in C (native/src/token.c,
declared in vk_token.h), one call per batch over the native FF1 (``_native_ff1``).

Used by :mod:`vaultkit.tokens` (``CardFormat``, ``CnIdFormat``) when the native backend is in
use and the FF1 object runs on the native FF1; otherwise the recipes run their pure-Python path,
which gives the same tokens and is the reference of the scheme. There is no reference module for
this area: the fallback lives in the recipes themselves.

The functions work in place on a ``bytearray`` of ASCII rows ``stride`` bytes apart and return
``None`` on success or the index of the first row that is not valid input (the buffer is then
unchanged, and the recipe names the rule that failed). Arguments are checked here before the C
call.
"""

from __future__ import annotations

from typing import Any

from vaultkit.hazmat.bindings import _native_ff1, backend, native

__all__ = ["available_for", "card", "cn_id"]

_ffi, _lib = native()

_CARD_MAX = 28  # digits per row the C Luhn arithmetic allows
_ID_LEN = 18


def available_for(ff1: Any) -> bool:
    """True if ``ff1`` (a :class:`vaultkit.hazmat.ff1.FF1`) is a radix-10 FF1 on the native FF1
    and the native backend is in use."""
    impl = getattr(ff1, "_impl", None)
    return (
        backend() == "native"
        and type(impl) is _native_ff1.Ff1
        and getattr(ff1, "radix", None) == 10
    )


def _handle(ff1: Any) -> Any:
    if not available_for(ff1):
        raise ValueError("the native token area needs a radix-10 native FF1")
    return ff1._impl._f


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
    ff1: Any,
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
    if not 0 < n <= _CARD_MAX or min(keep_prefix, keep_suffix) < 0:
        raise ValueError("card rows are 1..28 digits")
    if keep_prefix + keep_suffix + 6 > n:
        raise ValueError("card rows need at least 6 digits to encrypt")
    _check_buffer(buf, rows, stride, n)
    rc = _lib.vk_token_card(
        f, tweak, len(tweak), _ffi.from_buffer(buf), rows, stride, n,
        keep_prefix, keep_suffix, bool(luhn_invalid), bool(decrypt),
    )  # fmt: skip
    return _result(rc)


def cn_id(
    ff1: Any, tweak: bytes, buf: bytearray, rows: int, stride: int, *, keep_sex: bool, decrypt: bool
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
