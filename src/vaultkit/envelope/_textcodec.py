"""The text form in batches: ``to_text``/``from_text``/``as_binary`` over many ciphertexts in a
few C calls (one base64 call per run of ciphertexts of one length), with the same output and the
same strictness as the single-item functions in ``_format`` (the text form is specified in
``docs/envelope.md``, "Text form")."""

from __future__ import annotations

import base64
import binascii
import sys
from collections.abc import Sequence

from vaultkit.envelope._format import TEXT_PREFIX, as_binary, from_text, to_text
from vaultkit.envelope._records import cut
from vaultkit.errors import DecryptionError

__all__ = ["from_text_many", "to_binary_many", "to_text_many"]

_RUN = 1024  # ciphertexts per base64 call: the buffers stay in cache

# base64url -> standard alphabet; "+", "/" (not base64url) and "." become "*", which the strict
# decoder refuses (the prefix's "." is made "A" by position)
_FROM_URL = bytes.maketrans(b"-_+/.", b"+/***")
_PREFIX_BYTES = [bytes([c]) for c in TEXT_PREFIX.encode("ascii")]
_MARK = base64.b64decode("vk1A")  # 3 bytes whose encoding is "vk1A": the prefix, dot aside
_STRICT = sys.version_info >= (3, 11)  # binascii's strict_mode


def to_text_many(datas: Sequence[bytes]) -> list[str]:
    """``[to_text(d) for d in datas]``, in a few C calls per run of ciphertexts of one length."""
    n = len(datas)
    if n < 8 or set(map(type, datas)) != {bytes} or len(set(map(len, datas))) != 1:
        return [to_text(d) for d in datas]
    size = len(datas[0])
    chars = len(TEXT_PREFIX) + (4 * size + 2) // 3  # of one text
    out: list[str] = []
    for start in range(0, n, _RUN):
        out += map(bytes.decode, _to_text_run(datas[start : start + _RUN], size, chars))
    return out


def _to_text_run(datas: Sequence[bytes], size: int, chars: int) -> list[bytes]:
    """The text forms (ASCII bytes) of ciphertexts of ``size`` bytes, from one base64 encoding
    of them all: each item on whole base64 groups (3 marker bytes that encode as "vk1A", the
    item, zero bytes up to a multiple of 3, whose characters are cut off), "A" -> "." after."""
    n = len(datas)
    pad = b"\0" * (-size % 3)
    encoded = bytearray(base64.urlsafe_b64encode(_MARK + (pad + _MARK).join(datas) + pad))
    stride = len(encoded) // n
    encoded[3::stride] = b"." * n  # "vk1A" -> "vk1."
    return cut(encoded, f"{chars}s{stride - chars}x", stride, n)


def from_text_many(texts: Sequence[str]) -> list[bytes]:
    """``[from_text(t) for t in texts]`` (as strict); a bad item raises ``DecryptionError`` whose
    ``where`` names it. Texts of one length are decoded a run at a time in one strict base64 call
    (see ``_from_text_run``); any other batch, or a run that fails, one by one."""
    n = len(texts)
    if n >= 8 and _STRICT and set(map(type, texts)) == {str} and len(set(map(len, texts))) == 1:
        out: list[bytes] = []
        for start in range(0, n, _RUN):
            run = _from_text_run(texts[start : start + _RUN])
            if run is None:
                break
            out += run
        else:
            return out
    out = []
    for i, text in enumerate(texts):
        try:
            out.append(from_text(text))
        except DecryptionError:
            raise DecryptionError(f"item {i}") from None
    return out


def _from_text_run(texts: Sequence[str]) -> list[bytes] | None:
    """Texts of one length decoded in one strict base64 call, or None (then decode one by one,
    which names the bad item). Each text is "vk1." + body: with its "." made "A" (any other "."
    is refused) the prefix is one whole base64 group (3 bytes, dropped); bodies not on whole
    groups get "A" characters appended, whose decoded bytes must be zero: exactly when the body's
    unused trailing bits are zero, as the canonical encoding ``from_text`` insists on has them."""
    n = len(texts)
    size = len(texts[0])
    body = size - len(TEXT_PREFIX)
    if body < 0 or body % 4 == 1:
        return None
    fill = "A" * (-body % 4)
    try:
        joined = (fill.join(texts) + fill).encode("ascii")
    except UnicodeEncodeError:
        return None
    stride = size + len(fill)
    for i, char in enumerate(_PREFIX_BYTES):  # every text begins with "vk1."
        if joined[i::stride] != char * n:
            return None
    url = bytearray(joined.translate(_FROM_URL))
    url[3::stride] = b"A" * n
    try:
        flat = binascii.a2b_base64(url, strict_mode=True)  # type: ignore[call-arg]
    except (binascii.Error, ValueError):
        return None
    size = body * 3 // 4
    extra = -size % 3
    stride = 3 + size + extra
    if len(flat) != n * stride:
        return None
    if not extra:
        return cut(flat, f"3x{size}s", stride, n)
    pieces = cut(flat, f"3x{size}s{extra}s", stride, n)
    if pieces[1::2].count(b"\0" * extra) != n:  # non-zero unused bits: not canonical
        return None
    return pieces[0::2]


def to_binary_many(values: Sequence[bytes | bytearray | memoryview | str]) -> list[bytes]:
    """``[as_binary(v) for v in values]``; a text that does not decode raises ``DecryptionError``
    naming the item; the common cases (all bytes, all text) without a per-item Python step."""
    kinds = set(map(type, values))
    if kinds <= {bytes}:
        same = values if values.__class__ is list else list(values)
        return same  # type: ignore[return-value]
    if kinds == {str}:
        return from_text_many(values)  # type: ignore[arg-type]
    out: list[bytes] = []
    for i, value in enumerate(values):
        try:
            out.append(as_binary(value))
        except DecryptionError:
            raise DecryptionError(f"item {i}") from None
    return out
