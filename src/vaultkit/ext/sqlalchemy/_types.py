"""The column types: ``Encrypted``, ``Tokenized`` and ``BlindIndex`` (SQLAlchemy TypeDecorators).

What they share is ``_base.Protected``; the stored-column format (context, token form, value
codec, blind-index input) is :mod:`vaultkit.columns`'; values sealed before the statement are
``_sealed``'s (write side); what the read path returns is ``_results``' (read side).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, cast

from sqlalchemy import String, Table, Text, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from vaultkit import kinds
from vaultkit.blindindex import BlindIndexer
from vaultkit.blindindex import plan as plan_index
from vaultkit.columns import (
    Codec,
    blind_index_input,
    codec_for,
    format_token,
    parse_token,
)
from vaultkit.errors import (
    AccessDeniedError,
    DecryptionError,
    InputFormatError,
    KeyNotFoundError,
    KeyStateError,
    PolicyError,
    UnboundValueError,
    VaultkitError,
    VaultkitTypeError,
)
from vaultkit.ext.sqlalchemy import _policy
from vaultkit.ext.sqlalchemy._base import Blob, Protected, bound
from vaultkit.ext.sqlalchemy._binding import (
    ColumnBinding,
    client_assigned_key,
    primary_version,
    readable_versions,
)
from vaultkit.ext.sqlalchemy._marks import mark
from vaultkit.ext.sqlalchemy._results import RowBound
from vaultkit.ext.sqlalchemy._sealed import PRESEALED, plaintext_of, stored_form
from vaultkit.keys import KeyState

if TYPE_CHECKING:
    from sqlalchemy.sql.type_api import _BindProcessorType, _ResultProcessorType

    from vaultkit.keys import DataKey, KeyProvider
    from vaultkit.policy import Level

    class _InsertContext(Protocol):
        """SQLAlchemy's DefaultExecutionContext, as a column default sees it (its method is
        untyped there)."""

        def get_current_parameters(
            self, isolate_multiinsert_groups: bool = True
        ) -> Mapping[str, object]: ...


__all__ = ["BlindIndex", "Encrypted", "Tokenized"]

Storage = Literal["binary", "text"]
RETIRED = KeyState.RETIRED
AUTO = "auto"  # Encrypted's default bind_row: the primary key when the client assigns it


def _declared_row_key(bind_row: bool | str | tuple[str, ...]) -> tuple[str, ...] | None:
    """The row key an explicit ``bind_row`` names (None for ``"auto"`` until resolved)."""
    if bind_row is False or bind_row == AUTO:
        return None
    if bind_row is True:
        return ()
    return (bind_row,) if isinstance(bind_row, str) else tuple(bind_row)


class Encrypted(Protected):
    """A column encrypted with ``Vault.encrypt`` under ``key_name``, bound to table and column.

    ``python_type``: str, bytes, int, Decimal, date, datetime, or dict (any JSON value).
    ``storage``: "binary" (LargeBinary / bytea, binary envelope) or "text" (Text, "vk1." form).
    ``level`` / ``kind``: the sensitivity (``vaultkit.policy``); C3 is refused (never stored
    reversibly); ``kind`` also picks the display mask.
    ``searchable``: True (or the name of the index column) makes ``==`` and ``IN`` compare the
    column's single-source ``BlindIndex`` column instead.
    ``bind_row``: what else each ciphertext is authenticated with (docs/sqlalchemy.md, "Context
    binding"): ``"auto"`` (default) the primary key when the client assigns it before the
    INSERT, nothing (column only) when the database assigns it (autoincrement, IDENTITY,
    sequence, server default), resolved by ``configure``; True the primary key (a key left
    unassigned at flush is an error); a column key / tuple of keys (a natural key); False
    the column only.
    ``read_unbound``: with row binding, also open values written without it (the column's
    former, column-only context): the transition of an existing column to row binding, until
    ``vaultkit reencrypt --bind-row`` has rebound every row (docs/sqlalchemy.md). Without it
    such a value raises ``UnboundValueError`` naming that fix.
    """

    cache_ok = True  # SQLAlchemy reads it from each class's own __dict__
    _CACHE_ARGS = (
        "key_name",
        "python_type",
        "storage",
        "level",
        "kind",
        "searchable",
        "bind_row",
        "read_unbound",
    )

    def __init__(
        self,
        key_name: str,
        *,
        python_type: type = str,
        storage: Storage = "binary",
        level: Level | str | None = None,
        kind: str | None = None,
        searchable: bool | str = False,
        bind_row: bool | str | tuple[str, ...] = AUTO,
        read_unbound: bool = False,
    ) -> None:
        if not isinstance(key_name, str) or not key_name:
            raise VaultkitTypeError("key_name is a non-empty str")
        if storage not in ("binary", "text"):
            raise VaultkitTypeError('storage is "binary" or "text"')
        if isinstance(bind_row, list):
            bind_row = tuple(bind_row)
        if (
            not (
                isinstance(bind_row, bool | str)
                or (
                    isinstance(bind_row, tuple)
                    and bind_row
                    and all(isinstance(k, str) for k in bind_row)
                )
            )
            or bind_row == ""
        ):
            raise VaultkitTypeError(
                'bind_row is "auto", True, False, a column key or a tuple of column keys'
            )
        if read_unbound and bind_row is False:
            raise VaultkitTypeError("read_unbound is for row-bound columns (bind_row=...)")
        _policy.check_reversible(level, kind)
        super().__init__()
        self.key_name = key_name
        self.__dict__["python_type"] = python_type  # a cache-key argument (see module doc)
        self.storage = storage
        self.level = level
        self.kind = kind
        self.searchable = searchable
        self.bind_row = bind_row
        self.read_unbound = bool(read_unbound)
        # the row key once resolved ("auto": by configure, from the table; see row_key)
        self._row_key: tuple[str, ...] | None = _declared_row_key(bind_row)
        self.codec: Codec = codec_for(python_type)
        self.text = storage == "text"
        self.impl = Text() if self.text else Blob()  # before impl_instance is read

    @property
    def python_type(self) -> type:
        return self.__dict__["python_type"]  # type: ignore[no-any-return]

    @property
    def row_key(self) -> tuple[str, ...] | None:
        """None: not row-bound; (): the primary key; else the natural key's column keys.
        ``bind_row="auto"`` is None until ``configure`` resolves it (:meth:`resolve_row_key`)."""
        return self._row_key

    def resolve_row_key(self, table: Table) -> None:
        """Resolve ``bind_row="auto"`` for ``table`` (``configure`` calls it): the primary key
        when the client assigns it before the INSERT (``client_assigned_key``), else unbound."""
        if self.bind_row == AUTO:
            self._row_key = () if client_assigned_key(table) else None

    def seal(self, value: object, context: dict[str, str], where: str) -> bytes | str:
        """Encrypt one Python value under ``context`` (storage form)."""
        b = bound(self)
        plaintext = self.codec.encode(value)
        try:
            if self.text:
                return b.vault.encrypt_text(self.key_name, plaintext, context=context)
            return b.vault.encrypt(self.key_name, plaintext, context=context)
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {where}") from None

    def open(self, stored: bytes | str, context: dict[str, str], where: str) -> object:
        """Decrypt one stored value under ``context``; errors name ``where``, never the value."""
        b = bound(self)
        try:
            plaintext = b.vault.decrypt(stored, context=context)
        except KeyStateError as exc:  # retired or destroyed version: an operator's decision
            raise KeyStateError(f"{exc} ({where})") from None
        except AccessDeniedError:  # the principal's grants: not a failed decryption
            raise
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

    def open_row(self, stored: bytes | str, row_context: dict[str, str], where: str) -> object:
        """Open a row-bound column's value under its row's context; with ``read_unbound``, a
        value that does not open there is tried under the column-only context (written before
        the column was row-bound). Either failure is the same opaque ``DecryptionError``."""
        try:
            return self.open(stored, row_context, where)
        except DecryptionError:
            pass
        # (outside the handler: the second failure does not chain the first)
        if self.read_unbound:
            return self.open(stored, bound(self).context, where)
        if self._opens_unbound(stored):  # written before the column was bound: say the fix
            b = bound(self)
            raise UnboundValueError(
                where,
                "declare read_unbound=True while `vaultkit reencrypt --table "
                f"{b.table} --column {b.column} --bind-row` rebinds the rows, or bind_row=False "
                "to keep the column unbound (docs/sqlalchemy.md, Context binding)",
            )
        raise DecryptionError(where)

    def _opens_unbound(self, stored: bytes | str) -> bool:
        """Whether ``stored`` authenticates under the column-only context (the plaintext is
        dropped here: it never reaches the caller's frame or an exception)."""
        try:
            bound(self).vault.decrypt(stored, context=bound(self).context)
        except VaultkitError:
            return False
        return True

    def process_bind_param(self, value: object, dialect: Dialect) -> object:
        if value is None:
            return None
        if type(value) in PRESEALED:
            return stored_form(value)
        b = bound(self)
        if self._row_key is not None:
            raise VaultkitTypeError(
                f"{b.where} is row-bound: write it through the ORM (which knows the row key)"
            )
        return self.seal(value, b.context, b.where)

    def process_result_value(self, value: bytes | str | None, dialect: Dialect) -> object:
        if value is None:
            return None
        if self._row_key is not None:
            return RowBound(value)
        b = bound(self)
        return self.open(value, b.context, b.where)

    def bind_processor(self, dialect: Dialect) -> _BindProcessorType[object] | None:
        # Like TypeDecorator's, with values the batch path sealed taking the shortest way.
        impl = self.impl_instance.bind_processor(dialect)
        param = self.process_bind_param

        def process(value: object) -> object:
            stored = stored_form(value) if type(value) in PRESEALED else param(value, dialect)
            return stored if impl is None or stored is None else impl(stored)

        return process

    def _equal_to(self, expr: ColumnElement[object], values: list[object]) -> ColumnElement[bool]:
        b = bound(self)
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
        retired = [r for v in values for r in index_type.retired_candidates((v,))]
        return mark(index.in_(candidates), index_type, [(v,) for v in values], retired)


class BlindIndex(Protected):
    """A blind index column: HMAC (``Vault.blind_index``) of its source column(s), L bits.

    Filled on INSERT by a column default computed from the source values of the same statement
    (Core and ORM) and on ORM UPDATE when a source changes. Give the column ``index=True``.
    ``source``: one column key (the encrypted column searched with ``==``) or a tuple of keys
    (a compound index, queried with ``Model.index.matches(v1, v2, ...)``); ``transform``: an
    optional callable per source applied before hashing (e.g. last 4 digits, birth year).

    Its length (docs/sqlalchemy.md, "Choosing the index length"):

    * ``rows=R`` (the number of rows the table is expected to hold) and no ``bits``: the
      planner (:func:`vaultkit.blindindex.plan`) picks a length at which several rows share
      each index value, ``2 <= R/2^L <= sqrt(R)``;
    * ``rows=R`` and ``bits=L``: ``configure()`` refuses an ``L`` outside the planner's bounds
      for ``R`` rows (``PolicyError``), unless ``accept_identifying=True`` says the trade-off
      (an index that nearly identifies rows) is accepted;
    * ``input_bits=K``: with ``rows``, bounds the entropy of the indexed input (e.g. a
      ``transform`` keeping 4 digits: 14 bits), as :func:`vaultkit.blindindex.plan` takes it;
    * ``bits=L`` alone: as declared (nothing to check it against; declare ``rows``);
    * ``unique=True``: the full 256-bit MAC, for a column with a UNIQUE constraint. It
      identifies every row (equal values are all the database learns, but it learns all of
      them): use it only where uniqueness must be enforced by the database.
    """

    cache_ok = True
    compares_stored = True
    _CACHE_ARGS = (
        "key_name",
        "source",
        "bits",
        "transform",
        "rows",
        "input_bits",
        "unique",
        "accept_identifying",
    )
    FULL_BITS = 256  # HMAC-SM3 and HMAC-SHA256 outputs

    def __init__(
        self,
        key_name: str,
        *,
        source: str | tuple[str, ...],
        bits: int | None = None,
        rows: int | None = None,
        input_bits: int | None = None,
        unique: bool = False,
        accept_identifying: bool = False,
        transform: tuple[Callable[..., object] | None, ...] | None = None,
    ) -> None:
        if isinstance(source, str):
            source = (source,)
        source = tuple(source)
        if not source or not all(isinstance(s, str) for s in source):
            raise VaultkitTypeError("source is a column key or a tuple of column keys")
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
            raise VaultkitTypeError("rows (the expected number of rows) is an int >= 1")
        if unique:
            if bits is not None:
                raise VaultkitTypeError("unique=True is the full-length index: give no bits")
            bits = self.FULL_BITS
        elif bits is None:
            if rows is None:
                raise VaultkitTypeError(
                    "BlindIndex needs rows= (the expected row count: the planner picks the "
                    "length), bits= (an explicit length; 32 was the former default), or "
                    "unique=True (full length, identifying)"
                )
            bits = plan_index(rows=rows, input_bits=input_bits).bits
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 256:
            raise VaultkitTypeError("bits is an int in 1..256")
        if transform is not None:
            transform = tuple(transform)
            if len(transform) != len(source):
                raise VaultkitTypeError("transform has one entry (callable or None) per source")
        super().__init__()
        self.key_name = key_name
        self.source = source
        self.bits = bits
        self.rows = rows
        self.input_bits = input_bits
        self.unique = bool(unique)
        self.accept_identifying = bool(accept_identifying)
        self.transform = transform
        self.impl = Blob((bits + 7) // 8)

    def check_length(self, where: str) -> None:
        """Refuse (``PolicyError``) a declared ``bits`` outside the planner's bounds for the
        declared ``rows`` (``configure`` calls it), unless ``accept_identifying``."""
        if self.unique or self.rows is None or self.accept_identifying:
            return
        try:
            plan_index(self.bits, rows=self.rows, input_bits=self.input_bits)
        except PolicyError as exc:
            raise PolicyError(
                f"{where}: {exc}; omit bits to let the planner choose, or declare "
                "accept_identifying=True to keep this length knowingly"
            ) from None

    def value_of(self, values: Sequence[object]) -> str | bytes:
        """What is MACed for one row's source values (``vaultkit.columns.blind_index_input``)."""
        return blind_index_input(values, self.transform)

    def compute(self, values: Sequence[object]) -> bytes | None:
        """The index of one row's source values (None when any is NULL)."""
        if any(v is None for v in values):
            return None
        b = bound(self)
        try:
            return b.vault.blind_index(
                self.key_name, self.value_of(values), context=b.index_context, bits=self.bits
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None

    def candidates(self, values: Sequence[object]) -> list[bytes]:
        """Indexes to look for: one per readable version of the index key (rotation)."""
        b = bound(self)
        try:
            return list(
                b.vault.blind_index_candidates(
                    self.key_name, self.value_of(values), context=b.index_context, bits=self.bits
                )
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None

    def retired_candidates(self, values: Sequence[object]) -> list[tuple[int, bytes]]:
        """``(version, index)`` of ``values`` under each *retired* version of the index key.

        A retired version no longer answers searches, but its material still exists, so the
        indexes it made can be computed: a search checks that no stored index equals one of
        them (``_search``) and raises ``KeyStateError`` if one does, rather than silently
        missing those rows. A destroyed version cannot be computed (``vaultkit key destroy
        --db`` refuses while rows use it). Empty when the provider cannot list states.
        """
        b = bound(self)
        versions = _retired_versions(b, self.key_name)
        if not versions:
            return []
        indexer = BlindIndexer(_RetiredToo(b.vault.keys))
        value = self.value_of(values)
        return [
            (
                v,
                indexer.compute(
                    self.key_name, value, context=b.index_context, bits=self.bits, version=v
                ),
            )
            for v in versions
        ]

    def insert_default(self, context: _InsertContext) -> bytes | None:
        """Column default: the index of the statement's own source values (executemany too)."""
        params = context.get_current_parameters()
        return self.compute(tuple(plaintext_of(params.get(k)) for k in self.source))

    # the index bytes pass through as is (the impl's processors only)
    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> _ResultProcessorType[object] | None:
        return self.impl_instance.result_processor(dialect, coltype)

    class Comparator(Protected.Comparator):
        def matches(self, *values: object) -> ColumnElement[bool]:
            """Rows whose source values (in ``source`` order) are ``values``."""
            type_ = self.expr.type
            assert isinstance(type_, BlindIndex)
            if len(values) != len(type_.source):
                raise VaultkitTypeError(f"matches() takes {len(type_.source)} values")
            retired = type_.retired_candidates(values)
            return mark(self.expr.in_(type_.candidates(values)), type_, [values], retired)

    comparator_factory = Comparator


def _retired_versions(b: ColumnBinding, key_name: str) -> list[int]:
    """The *retired* versions of ``key_name``: a search computes the query's stored forms under
    them too (``retired_candidates``), to refuse rather than miss the rows they made. Empty when
    the key provider cannot list states (then there is nothing to compute either)."""
    info = getattr(b.vault.keys, "key_info", None)
    if not callable(info):
        return []
    try:
        return [v.version for v in info(key_name).versions if v.state is RETIRED]
    except KeyNotFoundError:
        raise KeyNotFoundError(f"no key {key_name!r} for {b.where}") from None


class _RetiredToo:
    """A key provider that also hands out retired versions (for the ``retired_candidates`` of
    :class:`BlindIndex` and :class:`Tokenized` only: computing what a retired version indexed
    or tokenized, never to write)."""

    __slots__ = ("_keys",)

    def __init__(self, keys: KeyProvider) -> None:
        self._keys = keys

    def primary_key(self, name: str) -> DataKey:
        return self._keys.primary_key(name)

    def key_version(self, name: str, version: int, *, force: bool = False) -> DataKey:
        return self._keys.key_version(name, version, force=True)

    def key_by_id(self, key_id: int, version: int, *, force: bool = False) -> DataKey:
        return self._keys.key_by_id(key_id, version, force=True)

    def readable_versions(self, name: str) -> list[int]:
        return list(self._keys.readable_versions(name))


class Tokenized(Protected):
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
        level: Level | str | None = None,
        kind: str | None = None,
        length: int = 80,
    ) -> None:
        if not isinstance(key_name, str) or not key_name:
            raise VaultkitTypeError("key_name is a non-empty str")
        kinds.token_format(format)  # UnknownKindError ("did you mean") at declaration
        _policy.check_reversible(level, kind)
        super().__init__()
        self.key_name = key_name
        self.format = format
        self.level = level
        self.kind = kind
        self.length = length
        self.impl = String(length)  # type: ignore[assignment]  # (instance, as in TypeDecorator)

    def _token(self, b: ColumnBinding, value: object, version: int | None) -> str:
        try:
            return b.vault.tokenize(
                self.key_name,
                cast(str, value),  # a Tokenized column's value (the format checks it)
                format=self.format,
                context=b.context,
                version=version,
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None

    def process_bind_param(self, value: object, dialect: Dialect) -> object:
        if value is None:
            return None
        if type(value) in PRESEALED:
            return stored_form(value)
        b = bound(self)
        version = primary_version(b.vault, self.key_name, b.where)
        return format_token(version, self._token(b, value, version))

    def process_result_value(self, value: str | None, dialect: Dialect) -> object:
        if value is None:
            return None
        try:
            return self.open_many([value])[0]
        except DecryptionError:
            raise DecryptionError(bound(self).where) from None

    def seal_many(self, values: Sequence[object]) -> list[str]:
        """Stored forms of ``values`` under the primary version: one ``tokenize_many``."""
        b = bound(self)
        version = primary_version(b.vault, self.key_name, b.where)
        try:
            tokens = b.vault.tokenize_many(
                self.key_name,
                cast("list[str]", list(values)),
                format=self.format,
                context=b.context,
                version=version,
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None
        return [format_token(version, t) for t in tokens]

    def open_many(self, stored: Sequence[str]) -> list[object]:
        """Values of stored tokens: one ``detokenize_many`` per key version. A failure raises
        ``DecryptionError("item <i>")`` naming the first bad item (never its value)."""
        b = bound(self)
        groups: dict[int, list[int]] = {}
        tokens: list[str] = []
        for i, s in enumerate(stored):
            try:
                version, token = parse_token(s)
            except InputFormatError:  # (its message names no value)
                raise DecryptionError(f"item {i}") from None
            groups.setdefault(version, []).append(i)
            tokens.append(token)
        out: list[object] = [None] * len(tokens)
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
        except AccessDeniedError:  # the principal's grants: not a failed detokenization
            raise
        except VaultkitError:
            raise DecryptionError(b.where) from None

    def stored_candidates(self, values: Iterable[object]) -> list[str]:
        """The stored forms ``values`` may have: one per readable version of the token key."""
        b = bound(self)
        versions = readable_versions(b.vault, self.key_name, b.where)
        return [format_token(v, self._token(b, value, v)) for value in values for v in versions]

    def retired_candidates(self, values: Sequence[object]) -> list[tuple[int, str]]:
        """``(version, stored form)`` of ``values`` under each *retired* version of the token key.

        As :meth:`BlindIndex.retired_candidates`: a retired version no longer answers searches,
        so a search checks that no row holds one of these (``_search``) and raises
        ``KeyStateError`` if one does. A token is a bijection of the value under its version, so
        a row holding one holds the value (nothing to decrypt). Empty without retired versions.
        """
        b = bound(self)
        versions = _retired_versions(b, self.key_name)
        if not versions:
            return []
        from vaultkit.tokens import Tokenizer  # (as Vault does: loaded on first use)

        tokenizer = Tokenizer(_RetiredToo(b.vault.keys))
        out: list[tuple[int, str]] = []
        for v in versions:
            tokens = tokenizer.tokenize_many(
                self.key_name,
                cast("list[str]", list(values)),
                format=self.format,
                context=b.context,
                version=v,
            )
            out.extend((v, format_token(v, t)) for t in tokens)
        return out

    def _equal_to(self, expr: ColumnElement[object], values: list[object]) -> ColumnElement[bool]:
        # the stored forms are compared as they are (String), not tokenized again
        stored = bindparam(None, self.stored_candidates(values), String(), expanding=True)
        in_op = TypeDecorator.Comparator(expr).operate(operators.in_op, stored)
        clause = cast("ColumnElement[bool]", in_op)  # (an IN clause: a boolean expression)
        retired = self.retired_candidates(values)
        if not retired:  # (unmarked: a statement without a mark costs _search nothing)
            return clause
        # a token matches its value only: nothing for exact search to filter (collides=False)
        return mark(clause, self, (), retired, collides=False)
