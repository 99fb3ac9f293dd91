"""Field ciphertext format v1: layout constants, header parsing, context encoding, text form.

Binary form (all integers big-endian)::

    offset  size  field
    0       1     format version = 0x01
    1       1     algorithm wire id (0x01 SM4-GCM, 0x02 AES-256-GCM; Algorithm.wire_id)
    2       4     key id (u32): the number the key ring assigned to the key name
    6       4     key version (u32)
    10      16    salt: random per writer process and key version, names the subkey
    26      32    key commitment = MAC(DEK, "vaultkit/v1/commit" 0x00 || bytes 0..26)
    58      12    GCM nonce (unique per subkey: counter or random, see FieldCipher)
    70      n     GCM ciphertext (n = plaintext length)
    70+n    16    GCM tag

The header is bytes 0..58. Encryption is ``GCM(subkey, nonce, plaintext, AD)`` with
``subkey = MAC(DEK, "vaultkit/v1/enc" 0x00 || bytes 0..26)`` truncated to the cipher's key
size and ``AD = header (58 bytes) || encode_context(context)``. MAC is HMAC-SM3 for SM4 keys and
HMAC-SHA256 for AES keys. Text form: ``"vk1." + base64url(binary)`` without padding.

``encode_context`` (injective; the context is authenticated, never stored)::

    u32 number of entries, then for each entry in order of its UTF-8 key bytes:
    u32 len(key) || key (UTF-8) || u32 len(value) || value (str as UTF-8, bytes as is)

A str value and its UTF-8 bytes are the same context.
"""

from __future__ import annotations

import base64
import binascii
import struct
import sys
from array import array
from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

from vaultkit.errors import DecryptionError, InputFormatError, VaultkitTypeError
from vaultkit.keys import Algorithm

__all__ = [
    "COMMIT_LABEL",
    "ENC_LABEL",
    "FORMAT_VERSION",
    "HEADER_LEN",
    "MIN_LEN",
    "Context",
    "Header",
    "encode_context",
    "encode_contexts",
    "from_text",
    "from_text_many",
    "header_groups",
    "inspect",
    "peek",
    "peek_prefix",
    "to_binary_many",
    "to_text",
    "to_text_many",
]

FORMAT_VERSION = 1
SALT_LEN = 16
COMMIT_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
FIXED_LEN = 10  # version, algorithm, key id, key version
BINDING_LEN = FIXED_LEN + SALT_LEN  # what subkey and commitment are derived from
HEADER_LEN = BINDING_LEN + COMMIT_LEN
MIN_LEN = HEADER_LEN + NONCE_LEN + TAG_LEN
TEXT_PREFIX = "vk1."
ENC_LABEL = b"vaultkit/v1/enc\x00"
COMMIT_LABEL = b"vaultkit/v1/commit\x00"
AEAD_ALGORITHMS = (Algorithm.SM4_GCM, Algorithm.AES_256_GCM)
_AEAD_BY_WIRE = {a.wire_id: a for a in AEAD_ALGORITHMS}

_FIXED = struct.Struct(">BBII")

Context = Mapping[str, "str | bytes"]


class Header(NamedTuple):
    """What a field ciphertext says about itself (readable without any key)."""

    format_version: int
    algorithm: Algorithm
    key_id: int
    version: int
    salt: bytes


def fixed_header(algorithm: Algorithm, key_id: int, version: int) -> bytes:
    return _FIXED.pack(FORMAT_VERSION, algorithm.wire_id, key_id, version)


def parse_header(data: bytes) -> Header:
    """The header of a binary ciphertext; ``DecryptionError`` when it is not one."""
    if len(data) < MIN_LEN or data[0] != FORMAT_VERSION:
        raise DecryptionError()
    _, wire, key_id, version = _FIXED.unpack_from(data)
    alg = _AEAD_BY_WIRE.get(wire)
    if alg is None:
        raise DecryptionError()
    return Header(FORMAT_VERSION, alg, key_id, version, bytes(data[FIXED_LEN:BINDING_LEN]))


def to_text(data: bytes) -> str:
    return TEXT_PREFIX + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_text(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith(TEXT_PREFIX):
        raise DecryptionError()
    body = text[len(TEXT_PREFIX) :]
    if len(body) % 4 == 1:
        raise DecryptionError()
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError() from None
    if to_text(data) != text:  # one encoding per ciphertext (no ignored bits or characters)
        raise DecryptionError()
    return data


# -- batches: the per-item work done in a few C calls -------------------------------------------
_RUN = 1024  # records cut per struct.unpack_from call


@lru_cache(maxsize=32)
def _cutter(record: str) -> struct.Struct:
    return struct.Struct(record * _RUN)


def cut(buf: bytes | bytearray, record: str, width: int, count: int) -> list[bytes]:
    """The fields of ``count`` consecutive ``width``-byte records of ``buf``, each unpacked with
    the struct format ``record`` (``s`` and ``x`` items only), flattened in order: the per-record
    slicing done in C, a run of records per call."""
    out: list[bytes] = []
    whole = count // _RUN
    if whole:
        unpack = _cutter(record).unpack_from
        step = width * _RUN
        for off in range(0, whole * step, step):
            out += unpack(buf, off)
    rest = count - whole * _RUN
    if rest:
        out += struct.unpack_from(record * rest, buf, whole * _RUN * width)
    return out


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
    for start in range(0, n, _RUN):  # a run at a time: the buffers stay in cache
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


def header_groups(datas: Sequence[bytes]) -> dict[bytes, list[int] | None]:
    """Binary ciphertexts (``bytes``) by header (bytes 0..58): ``{header: indices}`` in order of
    first appearance, or ``{header: None}`` when every item begins with the first one's header
    (the common batch: one writer; such items may still be shorter than ``MIN_LEN``: the opener
    checks lengths). An item too short to hold a header raises ``DecryptionError`` naming it."""
    head = datas[0][:HEADER_LEN]
    if len(head) == HEADER_LEN and all(map(bytes.startswith, datas, repeat(head))):
        return {head: None}
    groups: dict[bytes, list[int] | None] = {}
    for i, d in enumerate(datas):
        if len(d) < MIN_LEN:
            raise DecryptionError(f"item {i}")
        h = d[:HEADER_LEN]
        idx = groups.get(h)
        if idx is None:
            groups[h] = [i]
        else:
            idx.append(i)
    return groups


def as_binary(ciphertext: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(ciphertext, str):
        return from_text(ciphertext)
    if isinstance(ciphertext, bytes | bytearray | memoryview):
        return bytes(ciphertext)
    raise VaultkitTypeError("a ciphertext is bytes (binary form) or str (text form)")


def inspect(ciphertext: bytes | str) -> Header:
    """Format version, algorithm, key id and key version of a ciphertext, without decrypting.

    Accepts the binary or the text form. Nothing here is authenticated until decryption.
    Raises ``DecryptionError`` for something that is not a v1 field ciphertext.
    """
    return parse_header(as_binary(ciphertext))


# peek: the fixed header of the binary form, or the text characters that cover it
_PEEK_TEXT = len(TEXT_PREFIX) + 16  # 16 base64url characters decode to 12 bytes >= FIXED_LEN
_MIN_TEXT = len(TEXT_PREFIX) + (4 * MIN_LEN + 2) // 3  # text form of a MIN_LEN ciphertext
_AEAD_WIRE_IDS = frozenset(_AEAD_BY_WIRE)


def peek_prefix(value: object) -> bytes | str | None:
    """The part of ``value`` that :func:`peek` reads, or None when ``value`` cannot be a field
    ciphertext (not bytes or str, too short, no ``vk1.`` prefix). Never raises.

    Values with equal prefixes peek the same, so this is a cache key for classifying many
    values: those written by one process under one key version share it.
    """
    if isinstance(value, str):
        if len(value) < _MIN_TEXT or not value.startswith(TEXT_PREFIX):
            return None
        return value[:_PEEK_TEXT]
    if isinstance(value, bytes | bytearray | memoryview) and len(value) >= MIN_LEN:
        return bytes(value[:FIXED_LEN])
    return None


def peek(value: object) -> tuple[int, int] | None:
    """``(key id, key version)`` of a value that looks like a v1 field ciphertext (binary or
    text form), read from the fixed header alone; None for anything else (plaintext, NULL, the
    wrong type). Never raises and never decrypts: a fast, tolerant :func:`inspect` for scanning
    stored values. Nothing here is authenticated; only decryption proves a value genuine.
    """
    head = peek_prefix(value)
    if head is None:
        return None
    if isinstance(head, str):
        try:
            head = base64.urlsafe_b64decode(head[len(TEXT_PREFIX) :])
        except (binascii.Error, ValueError):
            return None
    # non-alphabet characters are dropped by the decoder: the head may come out short
    if len(head) < FIXED_LEN or head[0] != FORMAT_VERSION or head[1] not in _AEAD_WIRE_IDS:
        return None
    return int.from_bytes(head[2:6], "big"), int.from_bytes(head[6:10], "big")


_PACK = struct.Struct(">I").pack


def encode_context(context: Context) -> bytes:
    """Injective, length-prefixed encoding of a context mapping (see the module docstring)."""
    if not isinstance(context, Mapping):
        raise VaultkitTypeError("context is a mapping of str to str or bytes")
    parts = [_PACK(len(context))]
    try:
        keys = sorted(context)  # code point order of str == byte order of their UTF-8
    except TypeError:
        raise VaultkitTypeError("context keys are str") from None
    try:
        for key in keys:
            value = context[key]
            if key.__class__ is not str and not isinstance(key, str):
                raise VaultkitTypeError("context keys are str")
            kb = key.encode("utf-8")
            if value.__class__ is str or isinstance(value, str):
                vb = value.encode("utf-8")
            elif isinstance(value, bytes | bytearray | memoryview):
                vb = bytes(value)
            else:
                raise VaultkitTypeError(f"context value for {key!r} must be str or bytes")
            parts += (_PACK(len(kb)), kb, _PACK(len(vb)), vb)
    except UnicodeEncodeError:
        pass  # raised below, outside this handler: not even its __context__ holds the str
    else:
        return b"".join(parts)
    raise _not_unicode()


def _not_unicode() -> InputFormatError:
    """For a context str with a lone surrogate: ``UnicodeEncodeError`` would carry the whole
    string (a row key, say) in ``.object``; this names the rule and shows nothing."""
    return InputFormatError("context keys and values must be valid Unicode (no lone surrogate)")


def encode_contexts(contexts: Sequence[Context]) -> list[bytes]:
    """``[encode_context(c) for c in contexts]``, faster for the common batch: plain dicts with
    the same keys where most values repeat (table, column) and a few vary (the row). Constant
    runs are encoded once; each varying entry is encoded column-wise (values, their u32 lengths)
    and the items joined in C."""
    n = len(contexts)
    first = contexts[0] if n else None
    if n < 8 or first.__class__ is not dict:
        return [encode_context(c) for c in contexts]
    assert isinstance(first, dict)
    # the same keys in every dict: the same number of them, and each of the first's (else the
    # itemgetter below raises KeyError)
    if set(map(type, contexts)) != {dict} or set(map(len, contexts)) != {len(first)}:
        return [encode_context(c) for c in contexts]
    try:
        keys = sorted(first)
    except TypeError:
        raise VaultkitTypeError("context keys are str") from None
    try:
        return _encode_columns(contexts, keys)
    except KeyError:  # not the same keys
        return [encode_context(c) for c in contexts]
    except UnicodeEncodeError:
        pass  # raised below, outside this handler (see encode_context)
    raise _not_unicode()


def _encode_columns(contexts: Sequence[Context], keys: list[str]) -> list[bytes]:
    n = len(contexts)
    columns: list[bytes | list[bytes]] = []  # constant pieces and per-item columns, in order
    run = [_PACK(len(keys))]
    for key in keys:
        values = list(map(itemgetter(key), contexts))
        if values.count(values[0]) == n:
            # the entry's encoding, checked by the single-context encoder
            run.append(encode_context({key: values[0]})[4:])
            continue
        if key.__class__ is not str and not isinstance(key, str):
            raise VaultkitTypeError("context keys are str")
        kb = key.encode("utf-8")
        run += (_PACK(len(kb)), kb)
        encoded = _value_bytes(key, values)
        lengths = _u32_column(encoded)
        if lengths is None:  # a value of 2^32 bytes or more: refused one by one
            return [encode_context(c) for c in contexts]
        columns += (b"".join(run), lengths, encoded)
        run = []
    columns.append(b"".join(run))
    if len(columns) == 1:  # every context is the same
        return [columns[0]] * n  # type: ignore[list-item]
    parts = [repeat(c, n) if isinstance(c, bytes) else c for c in columns]
    return list(map(b"".join, zip(*parts, strict=True)))


def _value_bytes(key: str, values: list[object]) -> list[bytes]:
    """Context values as bytes (str as UTF-8), refusing any other type as encode_context does."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return list(map(str.encode, values))  # type: ignore[arg-type]
    if kinds <= {bytes}:
        return values  # type: ignore[return-value]
    out = []
    for value in values:
        if isinstance(value, str):
            out.append(value.encode("utf-8"))
        elif isinstance(value, bytes | bytearray | memoryview):
            out.append(bytes(value))
        else:
            raise VaultkitTypeError(f"context value for {key!r} must be str or bytes")
    return out


_U32_NATIVE = array("I").itemsize == 4


def _u32_column(items: list[bytes]) -> list[bytes] | None:
    """``[_PACK(len(b)) for b in items]`` in C (None when a length does not fit in a u32)."""
    if not _U32_NATIVE:
        return [_PACK(len(b)) for b in items]
    try:
        lengths = array("I", map(len, items))
    except OverflowError:
        return None
    if sys.byteorder == "little":
        lengths.byteswap()  # big-endian, as _PACK
    return cut(lengths.tobytes(), "4s", 4, len(items))
