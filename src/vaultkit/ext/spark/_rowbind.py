"""Which row key an ``Encrypted`` declaration binds in a Spark job: decided on the driver,
never guessed.

``bind_row=True``/``False``/a natural key is the declaration's own. ``"auto"`` (the ORM's
default) depends on the table: bound to the primary key when the client assigns it, unbound
when the database does (``configure``, docs/sqlalchemy.md "Context binding"). Spark resolves it
from, in order:

1. the model's table (``model=``), as ``configure`` does;
2. the declaration's own resolution, when ``configure`` bound it to this table and column;
3. the protected-column catalogue (``vaultkit.catalog``: what the ORM recorded for the column's
   stored values), read once on the driver (``catalog=``); executors get the resolved plan.

Anything else is refused with ``RowBindingError`` before a job runs: an unresolved ``"auto"``
taken as unbound would write values in another format than the ORM writes for the same column
(and reads back only as refusals). With a catalogue, an explicit declaration that contradicts
its record is refused too (``vaultkit.catalog``'s ``check_binding``, as ``configure`` does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from vaultkit.catalog import ProtectedColumn, Protection, load
from vaultkit.catalog._table import check_binding
from vaultkit.errors import RowBindingError, VaultkitTypeError
from vaultkit.ext.sqlalchemy import Encrypted
from vaultkit.ext.sqlalchemy._encrypted import AUTO

__all__ = ["Catalog", "records_of", "row_key"]

# the catalogue: a database (Engine/Connection, read on the driver) or rows already loaded
Catalog = Engine | Connection | Iterable[ProtectedColumn] | None


def records_of(catalog: Catalog, table: str) -> dict[str, ProtectedColumn]:
    """The catalogue's encrypted-column rows of ``table`` (named as contexts name it). A
    database without a catalogue, or one this user cannot read, gives none (an ``"auto"``
    declaration is then refused, naming the fixes)."""
    if catalog is None:
        return {}
    if isinstance(catalog, Engine | Connection):
        try:
            rows = load(catalog, table=table) or []
        except sa.exc.DBAPIError:
            rows = []
    else:
        rows = list(catalog) if isinstance(catalog, Iterable) else [catalog]
        if not all(isinstance(r, ProtectedColumn) for r in rows):
            raise VaultkitTypeError(
                "catalog= is an Engine or Connection of the application database, or "
                "vaultkit.catalog.ProtectedColumn rows (vaultkit.catalog.load; an AsyncEngine's "
                "with conn.run_sync)"
            )
    return {r.column: r for r in rows if r.table == table and r.protection is Protection.ENCRYPTED}


def row_key(
    declaration: Encrypted,
    *,
    table: str,
    column: str,
    client_key: bool | None,
    recorded: ProtectedColumn | None,
    names: Mapping[str, str] | None = None,
) -> tuple[str, ...] | None:
    """The row key ``declaration`` binds ``table.column`` to: None (not row-bound), ``()`` (the
    primary key) or natural-key column keys. ``client_key``: whether the model's table has a
    client-assigned key (None: no model); ``recorded``: the catalogue's row of the column;
    ``names``: column key -> database name (a model's), for comparing with the catalogue."""
    where = f"table {table}, column {column}"
    key = declaration.row_key
    if declaration.bind_row == AUTO:
        if client_key is not None:
            key = () if client_key else None
        elif _configured_for(declaration, table, column):
            pass  # configure resolved it from the table (Encrypted.resolve_row_key)
        elif recorded is not None:
            return recorded.row_key  # database names already
        else:
            raise RowBindingError(_unresolved(declaration, where))
    if recorded is not None:
        as_names = None if key is None else tuple((names or {}).get(k, k) for k in key)
        check_binding(
            recorded, f"{table}.{column}", as_names, read_unbound=declaration.read_unbound
        )
    return key


def _configured_for(declaration: Encrypted, table: str, column: str) -> bool:
    b = declaration.binding
    return b is not None and b.table == table and b.column == column


def _unresolved(declaration: Encrypted, where: str) -> str:
    b = declaration.binding
    seen = (
        f" (configure bound this declaration to table {b.table}, column {b.column}, not to "
        "this one)"
        if b is not None
        else ""
    )
    return (
        f'{where}: bind_row="auto" is not resolved{seen}: it binds the primary key when the '
        "client assigns it and nothing when the database does, and without the table Spark "
        "cannot tell which the ORM writes. Pass model= (the mapped class or Table), configure "
        "the model first (vaultkit.ext.sqlalchemy.configure), pass catalog= (the application "
        "database, whose protected-column catalogue records the binding), or declare "
        "bind_row=True (with pk=) or bind_row=False explicitly"
    )
