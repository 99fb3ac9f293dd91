"""Protect and reveal Arrow arrays with one Vault: one batch call per column and key version.

Every function takes and returns ``pyarrow`` arrays of the declared types (binary for binary
ciphertexts and blind indexes, string for text ciphertexts and stored tokens, the
``python_type``'s Arrow type when revealed), NULLs where the input has them. Values are
converted with :mod:`vaultkit.columns` exactly as the ORM converts them.
"""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypedDict, TypeVar, cast

import pyarrow as pa

from vaultkit.columns import (
    blind_index_input,
    codec_for,
    column_context,
    format_token,
    parse_token,
    row_key,
)
from vaultkit.errors import (
    DecryptionError,
    InputFormatError,
    KeyNotFoundError,
    KeyStateError,
    VaultkitError,
    VaultkitTypeError,
)
from vaultkit.ext.spark._plan import EncryptOp, IndexOp, Op, TokenOp
from vaultkit.ext.sqlalchemy._binding import primary_version

if TYPE_CHECKING:
    from vaultkit.vault import Vault

__all__ = ["arrow_type", "contexts", "protect_arrays", "reveal_array", "revealed_type"]

_T = TypeVar("_T")


class Contexts(TypedDict, total=False):
    """The Vault's context keyword arguments: one shared ``context`` or one per row."""

    context: dict[str, str]
    contexts: list[dict[str, str]]


# the Arrow type a revealed value of each python_type takes (a JSON value: its text)
_REVEALED: dict[type, pa.DataType] = {
    str: pa.string(),
    bytes: pa.binary(),
    int: pa.int64(),
    decimal.Decimal: pa.decimal128(38, 18),
    datetime.date: pa.date32(),
    datetime.datetime: pa.timestamp("us"),
    dict: pa.string(),
}


def arrow_type(op: Op) -> pa.DataType:
    """The Arrow type of a protected column."""
    if isinstance(op, EncryptOp):
        return pa.string() if op.text else pa.binary()
    if isinstance(op, TokenOp):
        return pa.string()
    return pa.binary()


def revealed_type(op: Op, masked: bool) -> pa.DataType:
    if isinstance(op, IndexOp):
        return pa.binary()
    if masked or isinstance(op, TokenOp):
        return pa.string()
    return _REVEALED[op.python_type]


def _present(array: pa.Array) -> list[int]:
    if array.null_count == 0:
        return list(range(len(array)))
    valid = array.is_valid().to_pylist()
    return [i for i, ok in enumerate(valid) if ok]


def _values(array: pa.Array, idx: list[int]) -> list[object]:
    """The Python values at ``idx`` (an int64 index array: pyarrow 18 has no take kernel for
    the null-typed array an empty Python list becomes)."""
    if len(idx) == len(array):
        return array.to_pylist()  # type: ignore[no-any-return]
    return array.take(pa.array(idx, pa.int64())).to_pylist()  # type: ignore[no-any-return]


def _place(n: int, idx: list[int], values: Sequence[object], type_: pa.DataType) -> pa.Array:
    if len(idx) == n:
        return pa.array(values, type=type_)
    out: list[object] = [None] * n
    for i, v in zip(idx, values, strict=True):
        out[i] = v
    return pa.array(out, type=type_)


def contexts(op: EncryptOp, keys: Sequence[pa.Array], idx: list[int]) -> Contexts:
    if not op.row_key:
        return {"context": op.context()}
    cols = [k.to_pylist() for k in keys]
    return {
        "contexts": [
            column_context(op.table, op.column, row_key([c[i] for c in cols])) for i in idx
        ]
    }


def protect_arrays(vault: Vault, op: Op, inputs: Sequence[pa.Array]) -> pa.Array:
    """The stored form of ``op``'s column from its input arrays (``op.inputs``, in order)."""
    first = inputs[0]
    n = len(first)
    if isinstance(op, IndexOp):
        cols = [a.to_pylist() for a in inputs]
        idx = [i for i in range(n) if all(c[i] is not None for c in cols)]
        macs = [blind_index_input([c[i] for c in cols], op.transform) for i in idx]
        made = _call(
            op,
            lambda: vault.blind_index_many(op.key_name, macs, context=op.context(), bits=op.bits),
        )
        return _place(n, idx, made, pa.binary())
    idx = _present(first)
    if isinstance(op, TokenOp):
        values = _values(first, idx)
        if values and not isinstance(values[0], str):
            raise VaultkitTypeError(f"{op.where}: a token column takes strings")
        # an Arrow array holds one type: the first value's is every value's
        strings = cast("list[str]", values)
        version = primary_version(vault, op.key_name, op.where)
        tokens = _call(
            op,
            lambda: vault.tokenize_many(
                op.key_name, strings, format=op.format, context=op.context(), version=version
            ),
        )
        return _place(n, idx, [format_token(version, t) for t in tokens], pa.string())
    seal = vault.encrypt_text_many if op.text else vault.encrypt_many
    ctx = contexts(op, inputs[1:], idx)
    plain = _utf8(first, idx) if op.python_type is str else None
    if plain is None:
        encode = codec_for(op.python_type).encode
        plain = [encode(v) for v in _values(first, idx)]
    sealed = _call(op, lambda: seal(op.key_name, plain, **ctx))
    return _place(n, idx, sealed, arrow_type(op))


def _utf8(array: pa.Array, idx: list[int]) -> list[bytes] | None:
    """The ``str`` codec's plaintexts (UTF-8) of a string array's values at ``idx``, cut from
    its buffer by Arrow (a zero-copy cast to binary) instead of encoded one by one; None when
    ``array`` is not a string array. The codec's check holds: Arrow's validation guarantees
    valid UTF-8, which has no lone surrogate."""
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        return None
    valid = True
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:  # raised outside the handler: nothing of Arrow's in __context__
        valid = False
    if not valid:
        raise InputFormatError("value must be valid Unicode (no lone surrogate)")
    binary = pa.binary() if pa.types.is_string(array.type) else pa.large_binary()
    return cast("list[bytes]", _values(array.cast(binary), idx))


def _call(op: Op, f: Callable[[], _T]) -> _T:
    try:
        return f()
    except KeyNotFoundError:
        raise KeyNotFoundError(f"no key {op.key_name!r} for {op.where}") from None


def reveal_array(
    vault: Vault,
    op: Op,
    stored: pa.Array,
    keys: Sequence[pa.Array] = (),
    *,
    masked: bool = False,
    force: bool = False,
) -> pa.Array:
    """The values of ``op``'s stored column (masked for display by its ``kind`` with
    ``masked``); a blind index is returned as it is. Failures are opaque and name the column.
    ``force``: also open values under retired key versions (re-encryption only)."""
    if isinstance(op, IndexOp):
        return stored
    n = len(stored)
    idx = _present(stored)
    values = _values(stored, idx)
    if isinstance(op, TokenOp):
        out: Sequence[object] = _detokenize(vault, op, values)
    else:
        out = _decrypt(vault, op, values, contexts(op, keys, idx), force=force)
    if masked:
        out = _mask(op, out)
    return _place(n, idx, out, revealed_type(op, masked))


def _detokenize(vault: Vault, op: TokenOp, stored: list[object]) -> list[object]:
    groups: dict[int, list[int]] = {}
    tokens: list[str] = []
    for i, s in enumerate(stored):
        try:
            version, token = parse_token(s)
        except InputFormatError:  # (its message names no value)
            raise DecryptionError(op.where) from None
        groups.setdefault(version, []).append(i)
        tokens.append(token)
    out: list[object] = [None] * len(tokens)
    for version, idx in groups.items():
        try:
            plain = vault.detokenize_many(
                op.key_name,
                [tokens[i] for i in idx],
                format=op.format,
                context=op.context(),
                version=version,
            )
        except KeyStateError as exc:
            raise KeyStateError(f"{exc} ({op.where})") from None
        except VaultkitError:
            raise DecryptionError(op.where) from None
        for i, p in zip(idx, plain, strict=True):
            out[i] = p
    return out


def _decrypt(
    vault: Vault, op: EncryptOp, stored: list[object], ctx: Contexts, *, force: bool = False
) -> list[object]:
    try:
        # a binary or string array: bytes or str
        plain = vault.decrypt_many(cast("list[bytes | str]", stored), force=force, **ctx)
    except KeyStateError as exc:
        raise KeyStateError(f"{exc} ({op.where})") from None
    except VaultkitError:
        raise DecryptionError(op.where) from None
    if op.python_type is dict:  # a JSON value: revealed as its (canonical) text
        decode: Callable[[bytes], object] = bytes.decode
    else:
        decode = codec_for(op.python_type).decode
    failed = False
    try:
        out = [decode(p) for p in plain]
    except ValueError:  # authenticated but not a value of python_type: opaque, outside
        failed = True  # the handler (the ValueError holds the plaintext)
    del plain
    if failed:
        raise DecryptionError(op.where)
    return out


def _mask(op: EncryptOp | TokenOp, values: Sequence[object]) -> list[str]:
    from vaultkit.ext.sqlalchemy import _policy

    kind = op.kind
    if kind is None and isinstance(op, TokenOp):
        kind = _policy.mask_kind_of_format(op.format, op.column)
    if kind is None:
        raise VaultkitTypeError(f"{op.where}: declare kind=... on the column to mask it")
    return [_policy.mask(kind, v if isinstance(v, str) else json.dumps(v)) for v in values]
