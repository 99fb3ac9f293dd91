"""A DBAPI cursor proxy whose fetches pass each fetched batch of rows through a function.

The read paths wrap a statement's cursor in ``after_cursor_execute``: ``_engine`` opens the
protected columns of each batch with one ``decrypt_many`` (the rows unchanged), ``_rowread``
opens row-bound values under their rows (the rows rebuilt). Either may wrap the other's proxy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext

__all__ = ["Row", "listener", "wrap"]

Row = Sequence[object]  # a DBAPI row
P = TypeVar("P")


class _FetchingCursor:
    """Every attribute but the fetches is the wrapped cursor's."""

    __slots__ = ("_cursor", "_rows")

    def __init__(self, cursor: DBAPICursor, rows: Callable[[list[Row]], list[Row]]) -> None:
        object.__setattr__(self, "_cursor", cursor)
        object.__setattr__(self, "_rows", rows)

    _cursor: DBAPICursor
    _rows: Callable[[list[Row]], list[Row]]

    def __getattr__(self, name: str) -> object:
        return getattr(self._cursor, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._cursor, name, value)

    def fetchall(self) -> list[Row]:
        return self._rows(list(self._cursor.fetchall()))

    def fetchmany(self, *size: int) -> list[Row]:
        return self._rows(list(self._cursor.fetchmany(*size)))

    def fetchone(self) -> Row | None:
        row = self._cursor.fetchone()
        return None if row is None else self._rows([row])[0]

    def __iter__(self) -> Iterator[Row]:
        while rows := self.fetchmany(256):
            yield from rows


def wrap(
    context: ExecutionContext, cursor: DBAPICursor, rows: Callable[[list[Row]], list[Row]]
) -> None:
    """Make ``context``'s cursor pass its fetched rows through ``rows``, when it is still the
    statement's DBAPI ``cursor`` or a proxy made here (another handler's cursor is left)."""
    current = context.cursor
    if current is cursor or isinstance(current, _FetchingCursor):
        context.cursor = cast("DBAPICursor", _FetchingCursor(current, rows))


def listener(
    name: str,
    make: Callable[[object, int], list[P]],
    rows_of: Callable[[list[P]], Callable[[list[Row]], list[Row]]],
) -> Callable[..., None]:
    """An ``after_cursor_execute`` listener: plans the statement that just ran with
    ``make(compiled, result width)`` (once per compiled statement, kept on it under ``name``:
    statements SQLAlchemy caches are planned once) and, when the plan is not empty, wraps the
    cursor so that its fetched rows pass through ``rows_of(plan)``."""

    def after_cursor_execute(
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
        plan: list[P] | None = compiled.__dict__.get(name)
        if plan is None:
            plan = compiled.__dict__[name] = make(compiled, len(cursor.description))
        if plan:
            wrap(context, cursor, rows_of(plan))

    return after_cursor_execute
