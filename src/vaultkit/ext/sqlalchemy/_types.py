"""The column types: ``Encrypted``, ``Tokenized`` and ``BlindIndex`` (SQLAlchemy TypeDecorators).

Every constructor argument is stored under its own name and is hashable, so ``cache_ok = True``
holds (SQLAlchemy builds the statement cache key from them). What a type is bound to (Vault,
table, column) is set by :func:`vaultkit.ext.sqlalchemy.configure` and is not part of the key.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from sqlalchemy import LargeBinary, String, Text, literal
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from vaultkit._nopickle import NoPickle
from vaultkit.errors import (
    DecryptionError,
    KeyNotFoundError,
    KeyStateError,
    VaultkitError,
    VaultkitTypeError,
)
from vaultkit.ext.sqlalchemy import _policy
from vaultkit.ext.sqlalchemy._binding import (
    ColumnBinding,
    NotConfiguredError,
    primary_version,
    readable_versions,
)
from vaultkit.ext.sqlalchemy._codec import Codec, codec_for
from vaultkit.ext.sqlalchemy._marks import mark

__all__ = [
    "BlindIndex",
    "Encrypted",
    "OpenedValues",
    "RowBound",
    "Sealed",
    "Tokenized",
    "row_key",
]

Storage = Literal["binary", "text"]

_EQ_OPS = (operators.eq, operators.ne)
_IN_OPS = (operators.in_op, operators.not_in_op)
_NEGATED = (operators.ne, operators.not_in_op)
# Comparisons a ciphertext cannot answer without decrypting the table (which queries never do).
_REFUSED = frozenset(
    (
        operators.lt,
        operators.le,
        operators.gt,
        operators.ge,
        operators.between_op,
        operators.like_op,
        operators.ilike_op,
        operators.not_like_op,
        operators.not_ilike_op,
        operators.startswith_op,
        operators.endswith_op,
        operators.contains_op,
        operators.regexp_match_op,
        operators.add,
        operators.sub,
        operators.concat_op,
    )
)


class Blob(LargeBinary):
    """``LargeBinary`` that binds ``bytes`` as they are where the driver takes them natively
    (sqlite3, psycopg, asyncpg) instead of wrapping each in the DBAPI's ``Binary`` (on SQLite a
    ``memoryview``: one object per value for the garbage collector to track)."""

    _NATIVE_BYTES = frozenset({"sqlite", "postgresql"})

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name in self._NATIVE_BYTES:
            return None
        return super().bind_processor(dialect)  # type: ignore[no-untyped-call]


class Sealed:
    """A value already encrypted (or tokenized) before the statement: by the ORM flush for
    row-bound columns, or by the batch INSERT path. The column type passes ``stored`` through.

    Holds the plaintext only for the duration of the statement, to fill blind indexes.
    """

    __slots__ = ("plaintext", "stored")

    def __init__(self, stored: bytes | str, plaintext: Any) -> None:
        self.stored = stored
        self.plaintext = plaintext

    def __repr__(self) -> str:
        return "Sealed(<ciphertext>)"


class SealedBytes(bytes):
    """A stored form (ciphertext) the batch INSERT path made. Unlike :class:`Sealed` it is not
    tracked by the garbage collector: 10,000 of them per statement cost no collections."""

    __slots__ = ()


class SealedText(str):
    """The text counterpart of :class:`SealedBytes` (text ciphertexts, stored tokens)."""

    __slots__ = ()


PRESEALED = (Sealed, SealedBytes, SealedText)


def stored_form(value: Any) -> Any:
    """What to bind for a value a batch path or the ORM flush already sealed."""
    kind = type(value)
    if kind is Sealed:
        return value.stored
    return bytes(value) if kind is SealedBytes else str(value)


def row_key(values: Sequence[Any]) -> str:
    """The ``row`` entry of a row-bound context: one key value as ``str`` (as ``vaultkit
    reencrypt`` binds rows); several as a JSON list of their ``str`` (injective)."""
    if len(values) == 1:
        return str(values[0])
    return json.dumps([str(v) for v in values], ensure_ascii=False)


class RowBound:
    """A row-bound column's ciphertext as Core returns it: only the ORM (which knows the row)
    decrypts it, on load. ``stored`` is the raw column value."""

    __slots__ = ("stored",)

    def __init__(self, stored: bytes | str) -> None:
        self.stored = stored

    def __repr__(self) -> str:
        return "RowBound(<ciphertext>)"


_MISSING: Any = object()


class OpenedValues(dict[Any, Any], NoPickle):
    """Stored value -> opened value, for the last batches the batch read path opened.

    The column type's result processor is this dict's ``__getitem__`` (a C call per value);
    a value not in the last two fetched batches (results of one column fetched interleaved,
    another thread, the per-value path) reaches ``__missing__``, which decrypts it on its own.
    Keys are the stored values themselves: within a batch every value was authenticated under
    its own context (row-bound ones under their row's), and equal stored values of one column
    open to equal values. Holds at most two fetched batches.
    """

    __slots__ = ("_opener", "_previous")

    def __init__(self, opener: Callable[[Any], Any]) -> None:
        super().__init__()
        self._opener = opener
        self._previous: dict[Any, Any] = {}

    def fill(self, stored: Sequence[Any], opened: Sequence[Any]) -> None:
        """Make ``stored`` -> ``opened`` the newest batch (the one before the previous goes)."""
        previous = dict(self)
        self.clear()
        try:
            self.update(zip(stored, opened, strict=True))
        except TypeError:  # unhashable stored values (a driver returning memoryview)
            self.clear()
        self._previous = previous

    def reset(self) -> None:
        self.clear()
        self._previous = {}

    def __missing__(self, stored: Any) -> Any:
        if stored is None:
            return None
        value = self._previous.get(stored, _MISSING)
        return self._opener(stored) if value is _MISSING else value

    def __repr__(self) -> str:
        return f"OpenedValues(<{len(self) + len(self._previous)} values>)"


def _plain(value: Any) -> Any:
    return value.plaintext if type(value) is Sealed else value


def _bound(type_: _Protected) -> ColumnBinding:
    binding = type_.binding
    if binding is None:
        raise NotConfiguredError(
            f"a {type(type_).__name__} column (key {type_.key_name!r}) is not bound to a Vault: "
            "call vaultkit.ext.sqlalchemy.configure(vault, Base) before using the model"
        )
    return binding


def _is_sql(value: Any) -> bool:
    return isinstance(value, ColumnElement) or hasattr(value, "__clause_element__")


def _python_values(other: Sequence[Any], where: str) -> list[Any]:
    values = list(other)
    if any(_is_sql(v) for v in values):
        raise VaultkitTypeError(
            f"{where}: IN over a protected column takes Python values "
            "(a SQL expression would need the plaintext in the database)"
        )
    return values


class _Protected(TypeDecorator[Any]):
    """What the three types share: a key name, a binding and the search rewrite."""

    impl: Any = LargeBinary
    cache_ok = True
    key_name: str
    # One slot shared with the copies SQLAlchemy makes per dialect (TypeDecorator.dialect_impl
    # copies the instance), so configure() re-binding reaches them too.
    _binding_slot: list[ColumnBinding | None]

    def __init__(self) -> None:
        super().__init__()
        self._binding_slot = [None]
        self.opened = OpenedValues(self._open_one)  # shared with the dialect copies too

    @property
    def binding(self) -> ColumnBinding | None:
        return self._binding_slot[0]

    def bind(self, binding: ColumnBinding | None) -> None:
        """Set by ``configure``; a copy of the type (``copy.copy``) must call ``unshare`` first."""
        self._binding_slot[0] = binding
        self.opened.reset()

    def unshare(self) -> None:
        self._binding_slot = [None]
        self.opened = OpenedValues(self._open_one)

    def __getstate__(self) -> dict[str, Any]:
        # a pickled type (e.g. inside a pickled MetaData) carries no Vault and no plaintext
        state = {k: v for k, v in self.__dict__.items() if k not in ("opened", "_binding_slot")}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._binding_slot = [None]
        self.opened = OpenedValues(self._open_one)

    def _open_one(self, stored: Any) -> Any:
        """The per-value path of the result processor (for stored values not batch-opened)."""
        return self.process_result_value(stored, None)  # type: ignore[arg-type]

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # TypeDecorator's composes impl's processor and process_result_value; where the impl
        # has none, the opened values (OpenedValues.__getitem__, one C call) are the processor.
        impl = self.impl_instance.result_processor(dialect, coltype)
        if impl is None and not getattr(self, "bind_row", False):
            # (never for row-bound columns: a stored value must be opened under its own row)
            return self.opened.__getitem__
        result = self.process_result_value

        def process(value: Any) -> Any:
            if value is None:
                return None
            return result(value if impl is None else impl(value), dialect)

        return process

    # SQLAlchemy's default cache key reads only positional __init__ arguments; ours are
    # keyword-only, so every constructor argument is listed here (all hashable).
    _CACHE_ARGS: tuple[str, ...] = ()

    @property
    def _static_cache_key(self) -> Any:
        return (type(self), *((k, self.__dict__[k]) for k in self._CACHE_ARGS))

    def _equal_to(self, expr: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
        raise NotImplementedError

    class Comparator(TypeDecorator.Comparator[Any]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> ColumnElement[Any]:
            type_ = self.expr.type
            if not isinstance(type_, _Protected) or isinstance(type_, BlindIndex):
                return super().operate(op, *other, **kwargs)
            name = getattr(self.expr, "key", "?")
            if op in _EQ_OPS and other and other[0] is not None and not _is_sql(other[0]):
                # (column == column compares stored forms: SQLAlchemy itself needs that)
                values = [other[0]]
            elif op in _IN_OPS and other and not isinstance(other[0], ColumnElement):
                values = _python_values(other[0], name)
                if any(v is None for v in values):
                    raise VaultkitTypeError(f"{name}: IN with None; use .is_(None)")
            elif op in _REFUSED:
                raise VaultkitTypeError(
                    f"{name}: a protected column supports only ==, !=, IN and IS NULL "
                    "(queries never decrypt the table)"
                )
            else:
                return super().operate(op, *other, **kwargs)
            clause = type_._equal_to(self.expr, values)
            return ~clause if op in _NEGATED else clause

    comparator_factory = Comparator


class Encrypted(_Protected):
    """A column encrypted with ``Vault.encrypt`` under ``key_name``, bound to table and column.

    ``python_type``: str, bytes, int, Decimal, date, datetime, or dict (any JSON value).
    ``storage``: "binary" (LargeBinary / bytea, binary envelope) or "text" (Text, "vk1." form).
    ``level`` / ``kind``: the sensitivity (``vaultkit.policy``); C3 is refused (never stored
    reversibly); ``kind`` also picks the display mask.
    ``searchable``: True (or the name of the index column) makes ``==`` and ``IN`` compare the
    column's single-source ``BlindIndex`` column instead.
    ``bind_row``: True (primary key) or a column key / tuple of keys (natural key) whose values
    are also authenticated; see docs/sqlalchemy.md for the trade-off with autoincrement keys.
    """

    cache_ok = True  # SQLAlchemy reads it from each class's own __dict__
    _CACHE_ARGS = ("key_name", "python_type", "storage", "level", "kind", "searchable", "bind_row")

    def __init__(
        self,
        key_name: str,
        *,
        python_type: type = str,
        storage: Storage = "binary",
        level: Any = None,
        kind: str | None = None,
        searchable: bool | str = False,
        bind_row: bool | str | tuple[str, ...] = False,
    ) -> None:
        if not isinstance(key_name, str) or not key_name:
            raise VaultkitTypeError("key_name is a non-empty str")
        if storage not in ("binary", "text"):
            raise VaultkitTypeError('storage is "binary" or "text"')
        if isinstance(bind_row, list):
            bind_row = tuple(bind_row)
        _policy.check_reversible(level, kind)
        super().__init__()
        self.key_name = key_name
        self.__dict__["python_type"] = python_type  # a cache-key argument (see module doc)
        self.storage = storage
        self.level = level
        self.kind = kind
        self.searchable = searchable
        self.bind_row = bind_row
        self.codec: Codec = codec_for(python_type)
        self.text = storage == "text"
        self.impl = Text() if self.text else Blob()  # before impl_instance is read

    @property
    def python_type(self) -> type:
        return self.__dict__["python_type"]  # type: ignore[no-any-return]

    @property
    def row_key(self) -> tuple[str, ...] | None:
        """None: not row-bound; (): the primary key; else the natural key's column names."""
        if self.bind_row is False:
            return None
        if self.bind_row is True:
            return ()
        return (self.bind_row,) if isinstance(self.bind_row, str) else tuple(self.bind_row)

    def seal(self, value: Any, context: dict[str, str], where: str) -> bytes | str:
        """Encrypt one Python value under ``context`` (storage form)."""
        b = _bound(self)
        plaintext = self.codec.encode(value)
        try:
            if self.text:
                return b.vault.encrypt_text(self.key_name, plaintext, context=context)
            return b.vault.encrypt(self.key_name, plaintext, context=context)
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {where}") from None

    def open(self, stored: bytes | str, context: dict[str, str], where: str) -> Any:
        """Decrypt one stored value under ``context``; errors name ``where``, never the value."""
        b = _bound(self)
        try:
            plaintext = b.vault.decrypt(stored, context=context)
        except KeyStateError as exc:  # retired or destroyed version: an operator's decision
            raise KeyStateError(f"{exc} ({where})") from None
        except VaultkitError:
            raise DecryptionError(where) from None
        try:
            return self.codec.decode(plaintext)
        except ValueError:  # authenticated but not a value of python_type (schema changed)
            pass
        # raised outside the handler: the ValueError (UnicodeDecodeError.object, int()'s and
        # fromisoformat()'s messages, JSONDecodeError.doc) holds the plaintext, and would stay
        # reachable as this error's __context__
        raise DecryptionError(where)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if type(value) in PRESEALED:
            return stored_form(value)
        b = _bound(self)
        if self.bind_row:
            raise VaultkitTypeError(
                f"{b.where} is row-bound: write it through the ORM (which knows the row key)"
            )
        return self.seal(value, b.context, b.where)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if self.bind_row:
            return RowBound(value)
        b = _bound(self)
        return self.open(value, b.context, b.where)

    def bind_processor(self, dialect: Dialect) -> Any:
        # Like TypeDecorator's, with values the batch path sealed taking the shortest way.
        impl = self.impl_instance.bind_processor(dialect)
        param = self.process_bind_param

        def process(value: Any) -> Any:
            stored = stored_form(value) if type(value) in PRESEALED else param(value, dialect)
            return stored if impl is None or stored is None else impl(stored)

        return process

    def _equal_to(self, expr: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
        b = _bound(self)
        if b.search_column is None:
            raise VaultkitTypeError(
                f"{b.where} is not searchable: declare searchable=True and a BlindIndex column"
            )
        index = expr.table.c[b.search_column]  # type: ignore[attr-defined,unused-ignore]
        index_type: BlindIndex = index.type
        candidates: list[bytes] = []
        for v in values:
            candidates.extend(index_type.candidates((v,)))
        # marked: exact search (_search) filters the candidates by the decrypted values
        return mark(index.in_(candidates), index_type, [(v,) for v in values])


_U32 = struct.Struct(">I")


class BlindIndex(_Protected):
    """A blind index column: HMAC (``Vault.blind_index``) of its source column(s), L bits.

    Filled on INSERT by a column default computed from the source values of the same statement
    (Core and ORM) and on ORM UPDATE when a source changes. Give the column ``index=True``.
    ``source``: one column key (the encrypted column searched with ``==``) or a tuple of keys
    (a compound index, queried with ``Model.index.matches(v1, v2, ...)``); ``transform``: an
    optional callable per source applied before hashing (e.g. last 4 digits, birth year).
    """

    cache_ok = True
    _CACHE_ARGS = ("key_name", "source", "bits", "transform")

    def __init__(
        self,
        key_name: str,
        *,
        source: str | tuple[str, ...],
        bits: int = 32,
        transform: tuple[Callable[[Any], Any] | None, ...] | None = None,
    ) -> None:
        if isinstance(source, str):
            source = (source,)
        source = tuple(source)
        if not source or not all(isinstance(s, str) for s in source):
            raise VaultkitTypeError("source is a column key or a tuple of column keys")
        if not isinstance(bits, int) or not 1 <= bits <= 256:
            raise VaultkitTypeError("bits is an int in 1..256")
        if transform is not None:
            transform = tuple(transform)
            if len(transform) != len(source):
                raise VaultkitTypeError("transform has one entry (callable or None) per source")
        super().__init__()
        self.key_name = key_name
        self.source = source
        self.bits = bits
        self.transform = transform
        self.impl = Blob((bits + 7) // 8)

    def value_of(self, values: Sequence[Any]) -> str | bytes:
        """What is MACed for one row's source values (docs/sqlalchemy.md, "Blind indexes")."""
        parts: list[bytes] = []
        for i, v in enumerate(values):
            if self.transform is not None and self.transform[i] is not None:
                v = self.transform[i](v)  # type: ignore[misc]
            if len(values) == 1 and isinstance(v, str):
                return v  # the plain string, as ``vaultkit reencrypt`` indexes it
            raw = v if isinstance(v, bytes) else str(v).encode("utf-8")
            parts += (_U32.pack(len(raw)), raw)  # injective: length-prefixed parts
        return b"".join(parts) if len(values) > 1 else parts[1]

    def compute(self, values: Sequence[Any]) -> bytes | None:
        """The index of one row's source values (None when any is NULL)."""
        if any(v is None for v in values):
            return None
        b = _bound(self)
        try:
            return b.vault.blind_index(
                self.key_name, self.value_of(values), context=b.index_context, bits=self.bits
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None

    def candidates(self, values: Sequence[Any]) -> list[bytes]:
        """Indexes to look for: one per readable version of the index key (rotation)."""
        b = _bound(self)
        try:
            return list(
                b.vault.blind_index_candidates(
                    self.key_name, self.value_of(values), context=b.index_context, bits=self.bits
                )
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None

    def insert_default(self, context: Any) -> bytes | None:
        """Column default: the index of the statement's own source values (executemany too)."""
        params = context.get_current_parameters()
        return self.compute(tuple(_plain(params.get(k)) for k in self.source))

    # the index bytes pass through as is (the impl's processors only)
    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        return self.impl_instance.result_processor(dialect, coltype)

    class Comparator(_Protected.Comparator):
        def matches(self, *values: Any) -> ColumnElement[bool]:
            """Rows whose source values (in ``source`` order) are ``values``."""
            type_ = self.expr.type
            assert isinstance(type_, BlindIndex)
            if len(values) != len(type_.source):
                raise VaultkitTypeError(f"matches() takes {len(type_.source)} values")
            return mark(self.expr.in_(type_.candidates(values)), type_, [values])

    comparator_factory = Comparator


class Tokenized(_Protected):
    """A column holding format-preserving tokens (``Vault.tokenize``) of ``format``.

    Stored as text ``"<key version>:<token>"`` (docs/sqlalchemy.md): FF1 tokens do not carry
    their key version, so the prefix tells detokenize which version to use, and a search tokenizes
    the bound value under every readable version. ``==``/``IN`` compare tokens, no decryption.
    """

    impl = String
    cache_ok = True
    _CACHE_ARGS = ("key_name", "format", "level", "kind", "length")

    def __init__(
        self,
        key_name: str,
        *,
        format: str,
        level: Any = None,
        kind: str | None = None,
        length: int = 80,
    ) -> None:
        if not isinstance(key_name, str) or not key_name:
            raise VaultkitTypeError("key_name is a non-empty str")
        _policy.check_reversible(level, kind)
        super().__init__()
        self.key_name = key_name
        self.format = format
        self.level = level
        self.kind = kind
        self.length = length
        self.impl = String(length)  # type: ignore[assignment]  # (instance, as in TypeDecorator)

    def _token(self, b: ColumnBinding, value: Any, version: int | None) -> str:
        try:
            return b.vault.tokenize(
                self.key_name, value, format=self.format, context=b.context, version=version
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if type(value) in PRESEALED:
            return stored_form(value)
        b = _bound(self)
        version = primary_version(b.vault, self.key_name, b.where)
        return f"{version}:{self._token(b, value, version)}"

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        try:
            return self.open_many([value])[0]
        except DecryptionError:
            raise DecryptionError(_bound(self).where) from None

    def seal_many(self, values: Sequence[Any]) -> list[str]:
        """Stored forms of ``values`` under the primary version: one ``tokenize_many``."""
        b = _bound(self)
        version = primary_version(b.vault, self.key_name, b.where)
        try:
            tokens = b.vault.tokenize_many(
                self.key_name,
                list(values),
                format=self.format,
                context=b.context,
                version=version,
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None
        return [f"{version}:{t}" for t in tokens]

    def open_many(self, stored: Sequence[str]) -> list[Any]:
        """Values of stored tokens: one ``detokenize_many`` per key version. A failure raises
        ``DecryptionError("item <i>")`` naming the first bad item (never its value)."""
        b = _bound(self)
        groups: dict[int, list[int]] = {}
        tokens: list[str] = []
        for i, s in enumerate(stored):
            prefix, sep, token = s.partition(":") if isinstance(s, str) else ("", "", "")
            if not sep or not prefix.isdigit():
                raise DecryptionError(f"item {i}")
            groups.setdefault(int(prefix), []).append(i)
            tokens.append(token)
        out: list[Any] = [None] * len(tokens)
        for version, idx in groups.items():
            try:
                plain = self._detokenize(b, [tokens[i] for i in idx], version)
            except DecryptionError:
                for i in idx:  # find the first bad item to name it
                    try:
                        self._detokenize(b, [tokens[i]], version)
                    except DecryptionError:
                        raise DecryptionError(f"item {i}") from None
                raise
            for i, p in zip(idx, plain, strict=True):
                out[i] = p
        return out

    def _detokenize(self, b: ColumnBinding, tokens: list[str], version: int) -> list[str]:
        try:
            return b.vault.detokenize_many(
                self.key_name, tokens, format=self.format, context=b.context, version=version
            )
        except KeyNotFoundError:
            readable_versions(b.vault, self.key_name, b.where)  # the key itself is missing?
            raise DecryptionError(b.where) from None  # no: an unknown version (unauthenticated)
        except KeyStateError as exc:
            raise KeyStateError(f"{exc} ({b.where})") from None
        except VaultkitError:
            raise DecryptionError(b.where) from None

    def stored_candidates(self, values: Iterable[Any]) -> list[str]:
        """The stored forms ``values`` may have: one per readable version of the token key."""
        b = _bound(self)
        versions = readable_versions(b.vault, self.key_name, b.where)
        return [f"{v}:{self._token(b, value, v)}" for value in values for v in versions]

    def _equal_to(self, expr: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
        stored = [literal(s, String()) for s in self.stored_candidates(values)]
        return TypeDecorator.Comparator(expr).operate(operators.in_op, stored)
