"""Row-bound columns read by a statement: opened under their rows, or refused.

A row-bound value opens only under its row's context (``vaultkit.columns.column_context`` with
the row key), which a column type, handed one value at a time, cannot build. So, on every
engine (a class-level ``after_cursor_execute``, as ``_search``'s ``before_execute``):

* when a statement's result holds, with a row-bound column, the columns of its row key (the
  primary key, or the natural key ``bind_row`` names) from the same table (or alias, or
  subquery), each
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

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from sqlalchemy import Column, Table, event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnClause, Label

from vaultkit.columns import column_context, row_key
from vaultkit.columns._context import row_key_shown
from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.sqlalchemy._base import bound
from vaultkit.ext.sqlalchemy._cursor import Row
from vaultkit.ext.sqlalchemy._cursor import listener as cursor_listener
from vaultkit.ext.sqlalchemy._results import Opened
from vaultkit.ext.sqlalchemy._types import Encrypted

if TYPE_CHECKING:
    pass

__all__ = ["install"]

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
        where = f"{b.where}, primary key {row_key_shown([row[p] for p in self.pk_positions])}"
        ctx = column_context(b.table, b.column, row_key(key))
        return Opened(t.open_row(cast("bytes | str", value), ctx, where))


def _source(objects: Sequence[object]) -> tuple[object, Column[object]] | None:
    """Where a result column reads from (a table, an alias or a subquery) and the table column
    behind it (through labels, aliases and subqueries); None for expressions."""
    for o in objects:
        if isinstance(o, Label):
            o = o.element
        from_ = getattr(o, "table", None)
        if from_ is None or not isinstance(o, ColumnClause):
            continue
        for p in o.proxy_set:
            if isinstance(p, Column) and isinstance(p.table, Table):
                return from_, p
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
    where: dict[tuple[int, Column[object]], int] = {}  # (id of the from, table column) -> i
    sources = [_source(rc.objects) if ordered else None for rc in columns]
    for i, found in enumerate(sources):
        if found is not None:
            where.setdefault((id(found[0]), found[1]), i)
    plan: list[_BoundColumn] = []
    missing: list[tuple[Encrypted, str]] = []
    for i, rc in enumerate(columns):
        t = rc.type
        if not _is_row_bound(t):
            continue
        assert isinstance(t, Encrypted)
        found = sources[i]
        if found is None:
            missing.append((t, "its row key, reading the column itself (not an expression)"))
            continue
        from_, table = id(found[0]), found[1].table
        assert isinstance(table, Table)
        pk = list(table.primary_key)
        names = [table.c[k] for k in t.row_key or ()] or pk
        keys = tuple(where.get((from_, c), -1) for c in names)
        pks = tuple(where.get((from_, c), -1) for c in pk)
        if not names or min(keys) < 0:
            missing.append((t, ", ".join(c.key for c in names) or "its row key"))
            continue
        plan.append(_BoundColumn(i, t, keys, pks if pks and min(pks) >= 0 else keys))
    if missing and (not _is_orm(compiled) or _selected_as_column(compiled)):
        t, needed = missing[0]
        raise VaultkitTypeError(
            f"{bound(t).where} is row-bound: its values open only under their row's key, so a "
            f"statement reading it must select {needed} of the same table too (e.g. "
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


_after_cursor_execute = cursor_listener(
    _PLAN, _plan, lambda plan: lambda rows: _open_rows(plan, rows)
)


def install() -> None:
    """Listen on every engine, once (``configure`` calls it)."""
    if not event.contains(Engine, "after_cursor_execute", _after_cursor_execute):
        event.listen(Engine, "after_cursor_execute", _after_cursor_execute)
