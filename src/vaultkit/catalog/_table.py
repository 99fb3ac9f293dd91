"""The ``vaultkit_columns`` table (SQLAlchemy Core): one row per protected column.

* ``table_name``: the table as column contexts name it (``vaultkit.columns.table_name``: bare
  in the default schema, ``schema.table`` otherwise);
* ``column_name``: the column;
* ``protection``: ``encrypted``, ``token`` or ``blind_index``;
* ``key_name``: the data key (the index key for a blind index);
* ``detail``: the token format (token); the index kind, ``text`` for the ORM's ``BlindIndex``
  (blind index); the storage form ``binary``/``text`` (encrypted);
* ``bits``: the blind-index length in bits;
* ``source``: a blind index's source columns (JSON list);
* ``row_key``: the row-key columns a row-bound value is authenticated with (JSON list, ``[]``
  for the primary key), NULL when not row-bound;
* ``transformed``: a blind index whose sources pass through application callables first (the
  CLI cannot recompute it).

Rows are replaced per (table, column), so a later declaration wins; nothing is ever removed
automatically (a column dropped from the models keeps its row until an operator deletes it).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from vaultkit.columns import table_name
from vaultkit.errors import RowBindingError

__all__ = [
    "CATALOG_TABLE",
    "CatalogWarning",
    "ProtectedColumn",
    "Protection",
    "binding_text",
    "check_binding",
    "load",
    "record",
    "record_metadata",
]

CATALOG_TABLE = "vaultkit_columns"

_metadata = sa.MetaData()
_table = sa.Table(
    CATALOG_TABLE,
    _metadata,
    sa.Column("table_name", sa.String(255), primary_key=True),
    sa.Column("column_name", sa.String(255), primary_key=True),
    sa.Column("protection", sa.String(16), nullable=False),
    sa.Column("key_name", sa.String(255), nullable=False),
    sa.Column("detail", sa.String(64)),
    sa.Column("bits", sa.Integer),
    sa.Column("source", sa.Text),
    sa.Column("row_key", sa.Text),
    sa.Column("transformed", sa.Boolean, nullable=False, default=False),
)


_INDEX_DETAIL = "text"  # a blind index's detail (ProtectedColumn.blind_index)


class Protection(str, enum.Enum):
    ENCRYPTED = "encrypted"
    TOKEN = "token"  # noqa: S105 - a protection kind, not a secret
    BLIND_INDEX = "blind_index"


class _CatalogRow(Protocol):
    """A row of the catalogue table, as :func:`load` reads it."""

    @property
    def table_name(self) -> str: ...
    @property
    def column_name(self) -> str: ...
    @property
    def protection(self) -> str: ...
    @property
    def key_name(self) -> str: ...
    @property
    def detail(self) -> str | None: ...
    @property
    def bits(self) -> int | None: ...
    @property
    def source(self) -> str | None: ...
    @property
    def row_key(self) -> str | None: ...
    @property
    def transformed(self) -> bool | None: ...


@dataclass(frozen=True)
class ProtectedColumn:
    """One catalogue row (see the module docs for each field)."""

    table: str
    column: str
    protection: Protection
    key_name: str
    detail: str | None = None
    bits: int | None = None
    source: tuple[str, ...] = ()
    row_key: tuple[str, ...] | None = None
    transformed: bool = False

    @classmethod
    def blind_index(
        cls,
        table: str,
        column: str,
        key_name: str,
        *,
        bits: int,
        source: Sequence[str],
        transformed: bool = False,
    ) -> ProtectedColumn:
        """The row of a blind-index column over ``source`` (database column names): its detail
        is ``text``, the convention for an index of the source columns' text form (what the
        ORM's ``BlindIndex`` and ``vaultkit reencrypt --index`` both MAC). The one place this
        row is built, for the ORM's declarations and the CLI's runs alike."""
        return cls(
            table,
            column,
            Protection.BLIND_INDEX,
            key_name,
            detail=_INDEX_DETAIL,
            bits=bits,
            source=tuple(source),
            transformed=transformed,
        )

    @property
    def where(self) -> str:
        return f"{self.table}.{self.column}"

    def _row(self) -> dict[str, object]:
        return {
            "table_name": self.table,
            "column_name": self.column,
            "protection": self.protection.value,
            "key_name": self.key_name,
            "detail": self.detail,
            "bits": self.bits,
            "source": json.dumps(list(self.source)) if self.source else None,
            "row_key": None if self.row_key is None else json.dumps(list(self.row_key)),
            "transformed": self.transformed,
        }

    @classmethod
    def _of(cls, row: _CatalogRow) -> ProtectedColumn:
        return cls(
            table=row.table_name,
            column=row.column_name,
            protection=Protection(row.protection),
            key_name=row.key_name,
            detail=row.detail,
            bits=row.bits,
            source=tuple(json.loads(row.source)) if row.source else (),
            row_key=None if row.row_key is None else tuple(json.loads(row.row_key)),
            transformed=bool(row.transformed),
        )


def record(engine: Engine | Connection, columns: Iterable[ProtectedColumn]) -> None:
    """Create the catalogue if needed and replace the rows of ``columns`` (one transaction)."""
    rows = [c._row() for c in columns]
    if not rows:
        return
    if isinstance(engine, Connection):
        _write(engine, rows)
        return
    with engine.begin() as conn:
        _write(conn, rows)


def _write(conn: Connection, rows: list[dict[str, object]]) -> None:
    _metadata.create_all(conn, checkfirst=True)
    t = _table
    for r in rows:
        conn.execute(
            t.delete().where(t.c.table_name == r["table_name"], t.c.column_name == r["column_name"])
        )
    conn.execute(t.insert(), rows)


def load(engine: Engine | Connection, *, table: str | None = None) -> list[ProtectedColumn] | None:
    """Every catalogued column (of ``table`` only, named as in contexts), or None when the
    database has no catalogue."""
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return load(conn, table=table)
    if not sa.inspect(engine).has_table(CATALOG_TABLE):
        return None
    q = sa.select(_table).order_by(_table.c.table_name, _table.c.column_name)
    if table is not None:
        q = q.where(_table.c.table_name == table)
    return [ProtectedColumn._of(r) for r in engine.execute(q)]


def record_metadata(metadata: sa.MetaData, engine: Engine | Connection) -> None:
    """Record every protected column of ``metadata`` (``vaultkit.ext.sqlalchemy`` types), after
    checking that the model and the catalogue agree on each encrypted column's row binding
    (:func:`check_binding`: ``RowBindingError`` otherwise, nothing recorded).

    A database that refuses (a read-only application user) gets a ``CatalogWarning``, not an
    error: the application runs, and ``key retire --db`` says it could not check those columns.
    """
    columns = declared(metadata.tables.values())
    try:
        known = {(c.table, c.column): c for c in load(engine) or []}
    except sa.exc.DBAPIError:
        known = {}  # (unreadable: the write below warns)
    bindings = _bindings(metadata.tables.values())
    for i, c in enumerate(columns):
        if c.protection is not Protection.ENCRYPTED:
            continue
        recorded = known.get((c.table, c.column))
        row_key, read_unbound, table = bindings[(c.table, c.column)]
        try:
            check_binding(recorded, c.where, row_key, read_unbound=read_unbound)
        except RowBindingError:
            if _has_rows(engine, table):
                raise
            recorded = None  # no stored value to misread (a new or emptied table)
        if read_unbound:  # in transition: the catalogue keeps what the stored values are
            rk = recorded.row_key if recorded is not None else None
            columns[i] = dataclasses.replace(c, row_key=rk)
    try:
        record(engine, columns)
    except sa.exc.DBAPIError as exc:
        warnings.warn(
            f"vaultkit: the protected-column catalogue ({CATALOG_TABLE}) could not be written "
            f"({type(exc.orig).__name__}); record it with a user that may",
            CatalogWarning,
            stacklevel=2,
        )


def check_binding(
    recorded: ProtectedColumn | None,
    where: str,
    row_key: tuple[str, ...] | None,
    *,
    read_unbound: bool = False,
) -> None:
    """Refuse (``RowBindingError``) an encrypted column's declared row binding (``row_key``:
    None, ``()`` the primary key, or natural-key columns) when it contradicts what the
    catalogue records for its stored values: a model binding a column written unbound would
    not open its values, one unbinding a bound column would write values bound readers refuse
    (docs/sqlalchemy.md, "Context binding"). ``read_unbound`` declares the transition from
    unbound: both are accepted, and the catalogue keeps recording the column unbound until
    ``vaultkit reencrypt --bind-row`` has rebound every value. (``record_metadata`` skips the
    check for a table without rows: a re-created table has no stored value to misread.)"""
    if recorded is None or recorded.protection is not Protection.ENCRYPTED:
        return
    if recorded.row_key == row_key or (read_unbound and recorded.row_key is None):
        return
    table, _, column = where.rpartition(".")
    if row_key is None:
        raise RowBindingError(
            f"{where}: the catalogue records it as bound to {binding_text(recorded.row_key)}, the "
            'model as not row-bound (bind_row=False, or "auto" on a database-assigned key): '
            "its stored values would not open. Declare the recorded binding (bind_row=True or "
            "the natural key)"
        )
    if recorded.row_key is None:
        raise RowBindingError(
            f"{where}: the catalogue records its values as written without row binding, the "
            f'model binds them to {binding_text(row_key)} (bind_row="auto" binds a '
            "client-assigned key): they would not open. Declare read_unbound=True and run "
            f"`vaultkit reencrypt --table {table} --column {column} --bind-row`, or declare "
            "bind_row=False to keep the column unbound"
        )
    raise RowBindingError(
        f"{where}: the catalogue records it as bound to {binding_text(recorded.row_key)}, the "
        f"model to {binding_text(row_key)}: declare the recorded binding"
    )


def binding_text(row_key: tuple[str, ...] | None) -> str:
    """A recorded or declared row binding in words (the catalogue's and the CLI's messages)."""
    if row_key is None:
        return "nothing (column only)"
    return "the primary key" if not row_key else f"({', '.join(row_key)})"


class CatalogWarning(UserWarning):
    """The catalogue could not be written (the declarations are not recorded)."""


def declared(tables: Iterable[sa.Table]) -> list[ProtectedColumn]:
    """The catalogue rows of the ``vaultkit.ext.sqlalchemy`` columns of ``tables``."""
    from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, Tokenized

    out: list[ProtectedColumn] = []
    for t in tables:
        if t.name == CATALOG_TABLE:
            continue
        name = table_name(t.name, t.schema)
        for c in t.columns:
            ty = c.type
            if isinstance(ty, Encrypted):
                key = ty.row_key
                out.append(
                    ProtectedColumn(
                        name,
                        c.name,
                        Protection.ENCRYPTED,
                        ty.key_name,
                        detail=ty.storage,
                        row_key=None if key is None else _names(t, key),
                    )
                )
            elif isinstance(ty, Tokenized):
                out.append(
                    ProtectedColumn(name, c.name, Protection.TOKEN, ty.key_name, str(ty.format))
                )
            elif isinstance(ty, BlindIndex):
                out.append(
                    ProtectedColumn.blind_index(
                        name,
                        c.name,
                        ty.key_name,
                        bits=ty.bits,
                        source=_names(t, ty.source),
                        transformed=ty.transform is not None
                        and any(f is not None for f in ty.transform),
                    )
                )
    return out


def _has_rows(engine: Engine | Connection, table: sa.Table) -> bool:
    """Whether ``table`` exists and holds a row (stored values a binding applies to)."""
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return _has_rows(conn, table)
    if not sa.inspect(engine).has_table(table.name, schema=table.schema):
        return False
    return engine.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None


def _bindings(
    tables: Iterable[sa.Table],
) -> dict[tuple[str, str], tuple[tuple[str, ...] | None, bool, sa.Table]]:
    """(table, column) -> (row key as database names, read_unbound, table) of each encrypted
    column."""
    from vaultkit.ext.sqlalchemy import Encrypted

    out: dict[tuple[str, str], tuple[tuple[str, ...] | None, bool, sa.Table]] = {}
    for t in tables:
        for c in t.columns:
            ty = c.type
            if isinstance(ty, Encrypted):
                key = ty.row_key
                out[(table_name(t.name, t.schema), c.name)] = (
                    None if key is None else _names(t, key),
                    ty.read_unbound,
                    t,
                )
    return out


def _names(t: sa.Table, keys: Sequence[str]) -> tuple[str, ...]:
    """Database column names of column keys (a model may give a column another key)."""
    return tuple(t.c[k].name if k in t.c else k for k in keys)
