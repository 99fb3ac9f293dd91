"""Context encoding: the injective bytes a context mapping is authenticated as (never stored).

The encoding is specified in ``docs/envelope.md``, "Context encoding". ``encode_contexts`` is
the batch form: the same bytes, faster for many contexts that share keys and most values.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import itemgetter

from vaultkit.envelope._records import cut
from vaultkit.errors import InputFormatError, VaultkitTypeError

__all__ = ["Context", "encode_context", "encode_contexts"]

Context = Mapping[str, "str | bytes"]

_PACK = struct.Struct(">I").pack


def encode_context(context: Context) -> bytes:
    """Injective, length-prefixed encoding of a context mapping (docs/envelope.md)."""
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
