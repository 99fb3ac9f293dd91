"""Row-bound columns read by a statement: opened under their rows, or refused.

A row-bound value opens only under its row's context (``vaultkit.columns.column_context`` with
the row key), which a column type, handed one value at a time, cannot build. So, on every
engine (a class-level ``after_cursor_execute``, as ``_search``'s ``before_execute``):

* when a statement's result holds, with a row-bound column, the columns of its row key (the
  primary key, or the natural key ``bind_row`` names) from the same table (or alias), each
  fetched row's value is opened under that row (:meth:`Encrypted.open_row`: ``read_unbound``
  and ``UnboundValueError`` as in the ORM) and handed to the column type as
  :class:`~vaultkit.ext.sqlalchemy._results.Opened`, which its result processor unwraps:
  Core ``select(t.c.id, t.c.note)`` returns the plaintext;
* when it does not (``select(t.c.note)`` alone, an expression, textual SQL), the statement is
  refused with ``VaultkitTypeError`` naming the fix (select the row key too, or load the
  entity through the ORM): never a ciphertext object where a value was expected;
* ORM entity loads whose row key is not in the result (a deferred natural key) keep the ORM's
  own path: the type returns :class:`~vaultkit.ext.sqlalchemy._results.RowBound`, which the
  instance ``load``/``refresh`` events open with the key the instance holds (``_orm``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.selectable import Alias

from vaultkit.columns import column_context, row_key
from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.sqlalchemy._base import bound
from vaultkit.ext.sqlalchemy._results import Opened
from vaultkit.ext.sqlalchemy._types import Encrypted

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext

__all__ = ["install"]

Row = Sequence[object]  # a DBAPI row
_PLAN = "_vaultkit_row_bound_plan"


class _BoundColumn:
    """A row-bound result column: its position, its type, and the positions of its row key
    and of its table's primary key (for errors) in the row."""

    __slots__ = ("key_positions", "pk_positions", "position", "type")

    def __init__(
        self,
        position: int,
        type_: Encrypted,
        key_positions: tuple[int, ...],
        pk_positions: tuple[int, ...],
    ) -> None:
        self.position = position
        self.type = type_
        self.key_positions = key_positions
        self.pk_positions = pk_positions

    def open(self, row: Row) -> object:
        value = row[self.position]
        if value is None:
            return None
        if isinstance(value, memoryview | bytearray):
            value = bytes(value)
        t = self.type
        b = bound(t)
        key = [row[p] for p in self.key_positions]
        where = f"{b.where}, primary key {row_key([row[p] for p in self.pk_positions])}"
        ctx = column_context(b.table, b.column, row_key(key))
        return Opened(t.open_row(cast("bytes | str", value), ctx, where))


def _source(objects: Sequence[object]) -> tuple[Table | Alias, Table, str] | None:
    """The table or alias a result column reads, the table behind it, and the column's key
    (None for expressions)."""
    for o in objects:
        from_ = getattr(o, "table", None)
        if hasattr(o, "primary_key") and isinstance(from_, Table):
            return from_, from_, str(getattr(o, "key"))  # noqa: B009 (a Column's)
        if isinstance(from_, Alias) and isinstance(from_.element, Table):
            return from_, from_.element, str(getattr(o, "key"))  # noqa: B009
    return None


def _is_row_bound(t: object) -> bool:
    return isinstance(t, Encrypted) and t.binding is not None and t.row_key is not None


def _selected_as_column(compiled: object) -> bool:
    """Whether an ORM statement selects a row-bound column as a column (``select(C.note)``),
    not as part of an entity the ORM's load events open."""
    statement = getattr(compiled, "statement", None)
    for d in getattr(statement, "column_descriptions", ()):
        if _is_row_bound(d.get("type")):
            return True
    return False


def _is_orm(compiled: object) -> bool:
    statement = getattr(compiled, "statement", None)
    attrs = getattr(statement, "_propagate_attrs", None) or {}
    return attrs.get("compile_state_plugin") == "orm"


def _plan(compiled: object, width: int) -> list[_BoundColumn]:
    """The row-bound columns of a result, with their row keys' positions; refuses a result
    that holds one without its row key (see the module doc)."""
    columns = getattr(compiled, "_result_columns", None) or ()
    if not any(_is_row_bound(rc.type) for rc in columns):
        return []
    ordered = len(columns) == width and getattr(compiled, "_ordered_columns", False)
    where: dict[tuple[int, str], int] = {}  # (id of table or alias, column key) -> position
    sources = [_source(rc.objects) if ordered else None for rc in columns]
    for i, found in enumerate(sources):
        if found is not None:
            where.setdefault((id(found[0]), found[2]), i)
    plan: list[_BoundColumn] = []
    missing: list[tuple[Encrypted, str]] = []
    for i, rc in enumerate(columns):
        t = rc.type
        if not _is_row_bound(t):
            continue
        assert isinstance(t, Encrypted)
        found = sources[i]
        if found is None:
            missing.append((t, "the row key"))
            continue
        from_, table, _ = found
        pk = [c.key for c in table.primary_key]
        names = list(t.row_key or ()) or pk
        keys = tuple(where.get((id(from_), k), -1) for k in names)
        pks = tuple(where.get((id(from_), k), -1) for k in pk)
        if not names or min(keys) < 0:
            missing.append((t, ", ".join(names) or "the row key"))
            continue
        plan.append(_BoundColumn(i, t, keys, pks if pks and min(pks) >= 0 else keys))
    if missing and (not _is_orm(compiled) or _selected_as_column(compiled)):
        t, names = missing[0]
        raise VaultkitTypeError(
            f"{bound(t).where} is row-bound: its values open only under their row's key, so a "
            f"statement reading it must select {names} of the same table too (e.g. "
            "select(t.c.id, t.c.note)), or load the mapped class through the ORM"
        )
    return plan  # (an ORM entity load without the key: the ORM's load events open it)


def _open_rows(plan: list[_BoundColumn], rows: list[Row]) -> list[Row]:
    out: list[Row] = []
    for row in rows:
        values = list(row)
        for col in plan:
            values[col.position] = col.open(row)
        out.append(tuple(values))
    return out


class _RowOpeningCursor:
    """A DBAPI cursor whose fetches open the row-bound columns of each fetched row."""

    __slots__ = ("_cursor", "_plan")
    vaultkit_proxy = True  # (``_engine`` wraps a proxy of ours as it wraps the DBAPI cursor)

    def __init__(self, cursor: DBAPICursor, plan: list[_BoundColumn]) -> None:
        object.__setattr__(self, "_cursor", cursor)
        object.__setattr__(self, "_plan", plan)

    _cursor: DBAPICursor
    _plan: list[_BoundColumn]

    def __getattr__(self, name: str) -> object:
        return getattr(self._cursor, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._cursor, name, value)

    def fetchall(self) -> list[Row]:
        return _open_rows(self._plan, list(self._cursor.fetchall()))

    def fetchmany(self, *size: int) -> list[Row]:
        return _open_rows(self._plan, list(self._cursor.fetchmany(*size)))

    def fetchone(self) -> Row | None:
        row = self._cursor.fetchone()
        return None if row is None else _open_rows(self._plan, [row])[0]

    def __iter__(self) -> Iterator[Row]:
        while rows := self.fetchmany(256):
            yield from rows


def _after_cursor_execute(
    conn: Connection,
    cursor: DBAPICursor | None,
    statement: str,
    parameters: object,
    context: ExecutionContext | None,
    executemany: bool,
) -> None:
    compiled = getattr(context, "compiled", None)
    if context is None or compiled is None or cursor is None or cursor.description is None:
        return
    plan = compiled.__dict__.get(_PLAN)
    if plan is None:
        plan = _plan(compiled, len(cursor.description))
        compiled.__dict__[_PLAN] = plan
    if plan:
        context.cursor = cast("DBAPICursor", _RowOpeningCursor(context.cursor, plan))


def install() -> None:
    """Listen on every engine, once (``configure`` calls it)."""
    if not event.contains(Engine, "after_cursor_execute", _after_cursor_execute):
        event.listen(Engine, "after_cursor_execute", _after_cursor_execute)
