"""The ``Encrypted`` column type: a value encrypted with ``Vault.encrypt``, bound to its table
and column (and, row-bound, to its row: sealed and opened by the ORM's events, ``_orm``, or under
the row a statement reads, ``_rowread``).

What the types share is ``_base.Protected``; the stored-column format (context, value codec) is
:mod:`vaultkit.columns`'; values sealed before the statement are ``_sealed``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from sqlalchemy import Table, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from vaultkit.columns import Codec, codec_for
from vaultkit.errors import (
    AccessDeniedError,
    DecryptionError,
    KeyNotFoundError,
    KeyStateError,
    UnboundValueError,
    VaultkitError,
    VaultkitTypeError,
)
from vaultkit.ext.sqlalchemy import _policy
from vaultkit.ext.sqlalchemy._base import Blob, Protected, bound
from vaultkit.ext.sqlalchemy._binding import client_assigned_key
from vaultkit.ext.sqlalchemy._blindindex import BlindIndex
from vaultkit.ext.sqlalchemy._marks import mark
from vaultkit.ext.sqlalchemy._results import RowBound
from vaultkit.ext.sqlalchemy._sealed import PRESEALED, stored_form

if TYPE_CHECKING:
    from sqlalchemy.sql.type_api import _BindProcessorType

    from vaultkit.policy import Level

__all__ = ["Encrypted"]

Storage = Literal["binary", "text"]
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
