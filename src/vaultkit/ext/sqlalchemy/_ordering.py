"""ORDER BY, GROUP BY, DISTINCT and window ``PARTITION BY``/``ORDER BY`` on a protected column
are refused when the statement is compiled.

A protected column holds ciphertexts (randomized: equal values differ), tokens or truncated
MACs; sorting, grouping or de-duplicating by them runs without an error and gives an order or
groups that mean nothing (docs/sqlalchemy.md, "Search"). ``col.desc()``, ``col.asc()`` and
``col.distinct()`` are refused where they are built (``_base.Protected.Comparator``), like
``<`` and ``LIKE``; the clauses that take a bare column (``order_by(col)``, ``group_by(col)``,
``select(col).distinct()``, ``over(order_by=col)``, ``desc(col)``, ``distinct(col)``) are
refused here, by a compilation hook on ``Select``, ``Over`` and ``UnaryExpression``: every
statement that reaches the database is compiled first (``str(stmt)`` too), and SQLAlchemy
caches compiled statements, so each statement is checked once.

Someone who means to sort or group by the stored bytes (counting blind-index collisions, say)
says so with ``type_coerce(col, LargeBinary)``: the coerced column is not a protected type.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, Grouping, Label, Over, UnaryExpression
from sqlalchemy.sql.selectable import Select

from vaultkit.ext.sqlalchemy._base import Protected, refused

if TYPE_CHECKING:
    from typing_extensions import Unpack

    AnySelect = Select[Unpack[tuple[object, ...]]]

    class SQLCompiler(Protocol):
        """The compiler methods the hooks hand back to (untyped in SQLAlchemy)."""

        def visit_select(self, select: AnySelect, /, **kw: object) -> str: ...

        def visit_over(self, over: Over[object], /, **kw: object) -> str: ...

        def visit_unary(self, unary: UnaryExpression[object], /, **kw: object) -> str: ...


__all__ = ["ORDERING_OPS", "install"]

# the unary operators that sort or de-duplicate their operand
ORDERING_OPS = frozenset(
    (
        operators.desc_op,
        operators.asc_op,
        operators.nulls_first_op,
        operators.nulls_last_op,
        operators.distinct_op,
    )
)

_installed = False


def _protected(elem: object) -> ColumnElement[object] | None:
    """The protected column ``elem`` is (through labels, parentheses and sort modifiers)."""
    while True:
        if isinstance(elem, Label | Grouping):
            elem = elem.element
        elif isinstance(elem, UnaryExpression) and (
            elem.modifier in ORDERING_OPS or elem.operator in ORDERING_OPS
        ):
            elem = elem.element
        else:
            break
    type_ = getattr(elem, "type", None)
    return elem if isinstance(type_, Protected) and isinstance(elem, ColumnElement) else None


def _name(elem: object) -> str:
    table = getattr(elem, "table", None)
    key = getattr(elem, "key", None) or getattr(elem, "name", "?")
    tname = getattr(table, "fullname", None) or getattr(table, "name", None)
    return f"{tname}.{key}" if tname else str(key)


def _check_terms(clause: str, terms: Iterable[object] | None) -> None:
    for term in terms or ():
        col = _protected(term)
        if col is not None:
            raise refused(clause, _name(col), col.type)


def _distinct_on(select: AnySelect) -> list[object]:
    """PostgreSQL's ``DISTINCT ON`` terms: ``select.distinct(col)`` (SQLAlchemy 2.0) or the
    ``.ext(distinct_on(col))`` syntax extension (2.1)."""
    terms: list[object] = list(select._distinct_on or ())
    extensions = getattr(select, "_get_syntax_extensions_as_dict", None)
    if callable(extensions):
        for ext in extensions().values():
            terms.extend(getattr(ext, "_distinct_on", None) or ())
    return terms


def _check_distinct(select: AnySelect) -> None:
    on = _distinct_on(select)
    if on:
        _check_terms("DISTINCT", on)
        return
    if not select._distinct:
        return
    columns = list(select.selected_columns)
    for c in columns:
        col = _protected(c)
        if col is None:
            continue
        table = getattr(col, "table", None)
        pk = getattr(table, "primary_key", None)
        keys = list(pk.columns) if pk is not None else []
        if keys and all(any(c.shares_lineage(k) for c in columns) for k in keys):
            continue  # the row's primary key is selected too: DISTINCT is per row
        raise refused("DISTINCT", _name(col), col.type)


def _check_select(select: AnySelect) -> None:
    _check_terms("ORDER BY", select._order_by_clauses)
    _check_terms("GROUP BY", select._group_by_clauses)
    _check_distinct(select)


def install() -> None:
    """Register the compilation hooks, once per process."""
    global _installed
    if _installed:
        return
    _installed = True

    @compiles(Select)
    def _select(element: AnySelect, compiler: SQLCompiler, **kw: object) -> str:
        _check_select(element)
        return compiler.visit_select(element, **kw)

    @compiles(Over)
    def _over(element: Over[object], compiler: SQLCompiler, **kw: object) -> str:
        _check_terms("ORDER BY", getattr(element.order_by, "clauses", None))
        _check_terms("PARTITION BY", getattr(element.partition_by, "clauses", None))
        return compiler.visit_over(element, **kw)

    @compiles(UnaryExpression)
    def _unary(element: UnaryExpression[object], compiler: SQLCompiler, **kw: object) -> str:
        if element.modifier in ORDERING_OPS or element.operator in ORDERING_OPS:
            col = _protected(element.element)
            if col is not None:
                clause = "DISTINCT" if element.operator is operators.distinct_op else "ORDER BY"
                raise refused(clause, _name(col), col.type)
        return compiler.visit_unary(element, **kw)
