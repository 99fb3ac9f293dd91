"""Exact blind-index search, and DML that would act on candidate rows refused.

A blind index is a truncated MAC: ``col == v`` rewritten to ``col_bidx IN (index(v), ...)``
finds every row whose index collides with ``v``'s (by design, see ``blindindex.plan``). Two
events make the results exact (docs/sqlalchemy.md, "Search"):

* ``do_orm_execute`` (every ``Session``/``AsyncSession``): an ORM ``select()`` of entities whose
  blind-index comparisons are top-level AND conjuncts of the WHERE clause, without LIMIT/OFFSET,
  is run as written and its entities filtered after loading: the decrypted source values are
  compared with the query values under the index's normalization. ORM ``update()``/``delete()``
  with a blind-index comparison are refused.
* ``before_execute`` (every ``Engine``): any other statement with a blind-index comparison
  (Core selects, column selects, aggregates, UNION/INTERSECT/EXCEPT, comparisons under OR/NOT,
  ``!=``/``NOT IN``, LIMIT/OFFSET) is made exact before it runs: one probe per comparison reads
  the candidate rows' primary keys and source values (``SELECT pk, source WHERE col_bidx IN
  (...)``), keeps the keys whose decrypted values match, and the comparison becomes ``col_bidx
  IN (...) AND pk IN (<matching keys>)`` (``col_bidx IS NOT NULL AND pk NOT IN (...)`` when
  negated). Core ``update()``/``delete()`` with a blind-index comparison are refused.

``.execution_options(vaultkit_candidates=True)`` (on the statement or the execute call) opts
out: the statement runs as rewritten and returns (or updates, deletes) every candidate row.

Whatever the options, while the index key has *retired* versions ``before_execute`` also checks
that no row holding a query value is indexed under one of them (``_refuse_retired``): such a row
would silently be missing, so the statement raises ``KeyStateError`` instead. Token comparisons
(``Tokenized`` ``==``/``IN``: ``tokens IN (stored forms under each readable version)``) are
exact as written; while the token key has retired versions they are marked too, and the same
check refuses a statement when a row holds a query value tokenized under a retired version.

The comparisons are found through their IN parameter, which carries a
:class:`~vaultkit.ext.sqlalchemy._marks.Search` (``collides``: a blind-index comparison, made
exact here; else a token comparison, only checked for retired versions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final

from sqlalchemy import Table, and_, event, inspect, select, tuple_, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.elements import BinaryExpression, BooleanClauseList
from sqlalchemy.sql.selectable import Alias, CompoundSelect, Select

from vaultkit.errors import KeyStateError, VaultkitTypeError
from vaultkit.ext.sqlalchemy._base import bound
from vaultkit.ext.sqlalchemy._marks import Search, may_hold_marks, search_of
from vaultkit.ext.sqlalchemy._results import RowBound
from vaultkit.ext.sqlalchemy._types import Encrypted

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Result
    from sqlalchemy.orm import ORMExecuteState
    from sqlalchemy.sql.base import Executable
    from sqlalchemy.sql.elements import ColumnElement
    from sqlalchemy.sql.visitors import ExternallyTraversible
    from typing_extensions import Unpack

__all__ = ["CANDIDATES", "comparisons", "install"]

Comparison = BinaryExpression[bool]  # a marked ==/IN comparison (see search_of)

CANDIDATES = "vaultkit_candidates"
_EXACT = "_vaultkit_exact"  # set by the ORM path on the statement it filters itself
_MISSING: Final = object()

_DML_REFUSED = (
    "blind-index comparisons select candidate rows (a truncated index collides by design); "
    "select the rows, then delete/update by primary key, or opt in with "
    ".execution_options(vaultkit_candidates=True)"
)


def comparisons(stmt: ExternallyTraversible) -> list[Comparison]:
    """Every marked comparison anywhere in ``stmt`` (subqueries, HAVING, ON clauses...)."""
    if not may_hold_marks(stmt):
        return []
    return [e for e in visitors.iterate(stmt) if isinstance(e, BinaryExpression) and search_of(e)]


def _colliding(found: list[Comparison]) -> list[Comparison]:
    """The blind-index comparisons of ``found`` (exact search's work; token ones are exact)."""
    return [c for c in found if getattr(search_of(c), "collides", False)]


def _conjuncts(criteria: Iterable[object]) -> list[object]:
    out: list[object] = []
    for c in criteria:
        if isinstance(c, BooleanClauseList) and c.operator is operators.and_:
            out.extend(_conjuncts(c.clauses))
        else:
            out.append(c)
    return out


def _opted_in(options: Mapping[str, object]) -> bool:
    return bool(options.get(CANDIDATES, False))


# -- ORM: filter loaded entities ----------------------------------------------------------------
def _entity_plan(
    stmt: Select[Unpack[tuple[object, ...]]], found: list[Comparison]
) -> list[tuple[int, Search, tuple[str, ...]]]:
    """(result position, search, source attribute names) per comparison, or [] when the ORM
    path cannot filter this statement (the engine path makes it exact instead)."""
    if stmt._limit_clause is not None or stmt._offset_clause is not None:
        return []
    if stmt._group_by_clauses or stmt._having_criteria or stmt._distinct or stmt._with_options:
        return []  # (loader options, e.g. joined eager loads: rows are not one per entity)
    top = {id(c) for c in _conjuncts(stmt._where_criteria)}
    if any(id(c) not in top for c in found):
        return []
    descriptions = stmt.column_descriptions
    plan: list[tuple[int, Search, tuple[str, ...]]] = []
    for c in found:
        if c.operator is not operators.in_op:
            return []
        table = c.left.table
        position = None
        for i, d in enumerate(descriptions):
            entity = d.get("entity")
            if entity is None or d.get("expr") is not entity or d.get("aliased"):
                continue
            mapper = inspect(entity, raiseerr=False)
            if getattr(mapper, "local_table", None) is table and not any(
                r.lazy in ("joined", "selectin", "subquery") for r in mapper.relationships
            ):
                position = i
                break
        if position is None:
            return []
        s = search_of(c)
        assert s is not None
        try:
            attrs = tuple(mapper.get_property_by_column(table.c[k]).key for k in s.type.source)
        except Exception:
            return []
        plan.append((position, s, attrs))
    return plan


def _keep(obj: object, s: Search, attrs: tuple[str, ...]) -> bool:
    d = inspect(obj).dict
    values = [d.get(a, _MISSING) for a in attrs]
    if any(v is _MISSING or type(v) is RowBound for v in values):
        raise _NotLoaded
    return s.matches(values)


class _NotLoaded(Exception):
    pass


def _do_orm_execute(state: ORMExecuteState) -> Result[Unpack[tuple[object, ...]]] | None:
    if state.is_column_load or state.is_relationship_load:
        return None
    options = state.execution_options
    if _opted_in(options) or options.get(_EXACT):
        return None
    stmt = state.statement
    if not isinstance(stmt, Select | Update | Delete):
        return None
    found = _colliding(comparisons(stmt))  # (token comparisons: the engine path checks them)
    if not found:
        return None
    if isinstance(stmt, Update | Delete):
        raise VaultkitTypeError(_DML_REFUSED)
    plan = _entity_plan(stmt, found)
    if not plan:
        return None  # the engine path (before_execute) makes it exact
    result = state.invoke_statement(execution_options={_EXACT: True})
    frozen = result.freeze()
    scalar = frozen._source_supports_scalars
    try:
        kept = [
            row
            for row in frozen.data
            if all(_keep(row if scalar else row[p], s, a) for p, s, a in plan)
        ]
    except _NotLoaded:  # a deferred or row-bound source: let the engine path do it
        return state.invoke_statement()
    out = frozen.with_new_rows([])
    out.data = kept
    return out()


# -- Engine: make any statement exact before it runs --------------------------------------------
def _exact_keys(
    conn: Connection, c: Comparison, s: Search
) -> tuple[list[tuple[object, ...]], list[ColumnElement[object]]]:
    """Primary keys (tuples) of the rows whose source values match, and the key expression."""
    index = c.left
    table: Table | Alias | None = getattr(index, "table", None)
    base = table.element if isinstance(table, Alias) else table
    if table is None or not isinstance(base, Table) or not base.primary_key.columns:
        raise VaultkitTypeError(
            f"{bound(s.type).where}: an exact blind-index search needs a table with a primary "
            "key; opt in to candidates with .execution_options(vaultkit_candidates=True)"
        )
    pk: list[ColumnElement[object]] = [table.c[col.key] for col in base.primary_key.columns]
    sources = [table.c[k] for k in s.type.source]
    # a row-bound source opens under its row (_rowread): its row key is read along
    extra: list[ColumnElement[object]] = []
    for src in sources:
        t = src.type
        if isinstance(t, Encrypted) and t.row_key is not None:
            extra += [table.c[k] for k in t.row_key] if t.row_key else pk
    probe = select(*pk, *sources, *extra).where(index.in_(c.right.value))
    n, m = len(pk), len(sources)
    keys: list[tuple[object, ...]] = []
    for row in conn.execute(probe, execution_options={CANDIDATES: True}):
        if s.matches(list(row[n : n + m])):
            keys.append(tuple(row[:n]))
    return keys, pk


def _rewritten(conn: Connection, c: Comparison) -> ColumnElement[bool]:
    s = search_of(c)
    assert s is not None
    keys, pk = _exact_keys(conn, c, s)
    negated = c.operator is operators.not_in_op  # != / NOT IN: every non-NULL row but these
    if len(pk) == 1:
        single = [k[0] for k in keys]
        matches = pk[0].not_in(single) if negated else pk[0].in_(single)
    else:
        matches = tuple_(*pk).not_in(keys) if negated else tuple_(*pk).in_(keys)
    index = c.left
    if negated:
        return and_(index.is_not(None), matches)
    positive = index.in_(c.right.value)
    return and_(positive, matches)


def _before_execute(
    conn: Connection,
    clause: Executable,
    multiparams: list[dict[str, object]],
    params: dict[str, object],
    execution_options: Mapping[str, object],
) -> tuple[Executable, list[dict[str, object]], dict[str, object]]:
    if not isinstance(clause, Select | CompoundSelect | Update | Delete | Insert):
        return clause, multiparams, params
    found = comparisons(clause)
    if not found:
        return clause, multiparams, params
    for c in found:  # (also for candidates: rows under a retired version are not found)
        _refuse_retired(conn, c)
    found = _colliding(found)
    if not found or _opted_in(execution_options) or execution_options.get(_EXACT):
        return clause, multiparams, params
    if isinstance(clause, Update | Delete):
        raise VaultkitTypeError(_DML_REFUSED)
    replacements = {id(c): _rewritten(conn, c) for c in found}
    new = visitors.replacement_traverse(clause, {}, lambda e: replacements.get(id(e)))  # type: ignore[call-overload]
    return new, multiparams, params


# the fix _refuse_retired names: an index is rebuilt from its source column (the retired
# version's material is not needed); moving a token detokenizes it under its own version, which
# reencrypt reads only while it is readable
_REBUILD_INDEX = (
    "rebuild the index under the primary version (vaultkit reencrypt, docs/cli.md), or "
    "re-activate the version (vaultkit key activate) until it is rebuilt"
)
_MOVE_TOKENS = (
    "re-activate the version (vaultkit key activate), move the tokens to the primary version "
    "(vaultkit reencrypt --format, docs/cli.md), then retire it again"
)


def _refuse_retired(conn: Connection, c: Comparison) -> None:
    """Raise ``KeyStateError`` when a row that holds a query value is indexed (blind index) or
    tokenized (token column) under a retired version of the key: the search would silently
    miss it.

    One probe for the query values' stored forms under the retired versions. When a stored
    token equals one, the row holds the value (a token is a bijection of the value under its
    version). When a stored index equals one, those candidate rows are decrypted (as exact
    search does) and only a row that really holds a query value makes the query refused.
    """
    s = search_of(c)
    if s is None or not s.retired:
        return
    retired = [stored for _, stored in s.retired]
    raw = type_coerce(c.left, s.type.impl_instance)  # the stored forms, compared as stored
    probe = select(raw).where(raw.in_(retired)).limit(1)
    if conn.execute(probe, execution_options={CANDIDATES: True}).first() is None:
        return
    if s.collides:
        try:
            keys, _ = _exact_keys(conn, c.left.in_(retired), s)
        except VaultkitTypeError:  # no primary key: the candidate rows cannot be told apart
            keys = [()]
        if not keys:
            return
        what, fix = "indexed", _REBUILD_INDEX
    else:
        what, fix = "tokenized", _MOVE_TOKENS
    t = s.type
    versions = ", ".join(str(v) for v in sorted({v for v, _ in s.retired}))
    raise KeyStateError(
        f"{bound(t).where}: rows holding the value are {what} under version {versions} of "
        f"key {t.key_name!r}, which is retired, so searches no longer find them; {fix}"
    )


def install() -> None:
    """Listen on every ``Session`` and ``Engine`` (class-level events), once. Statements without
    a blind-index comparison cost one look at their (memoized) cache key's bind parameters."""
    if not event.contains(Session, "do_orm_execute", _do_orm_execute):
        event.listen(Session, "do_orm_execute", _do_orm_execute)
    if not event.contains(Engine, "before_execute", _before_execute):
        event.listen(Engine, "before_execute", _before_execute, retval=True)
