"""Engine events: batch paths, and blind indexes kept right by Core UPDATE statements.

A TypeDecorator processes one value at a time, which costs a full ``Vault.decrypt`` per value.
On an engine passed to ``configure(..., engine=...)`` two events do the work in batches instead:

* ``after_cursor_execute`` wraps the DBAPI cursor of a statement whose result columns include
  protected columns; ``fetchall``/``fetchmany``/``fetchone`` decrypt each protected column of the
  fetched rows with one ``decrypt_many`` (row-bound columns excepted: ``_rowread`` opens
  them per row) and leaves the opened values in an ``OpenedValues`` the cursor owns (it dies
  with the result), which the type's result processor looks up (``_results``) instead of decrypting
  each value.
  With the row at hand, a failure names table, column and primary key.
* ``before_execute`` rewrites a multi-row INSERT's parameters: each protected column is encrypted
  with one ``encrypt_many`` (passed on as :class:`SealedBytes`/:class:`SealedText`, which the
  garbage collector does not track) and each blind index not given is
  computed with one ``blind_index_many``. The caller's dicts are not modified. A row-bound
  column is sealed under each row's context when every parameter set gives its row key
  (the per-value path refuses it otherwise: it never sees the row).

Statements these do not recognize (textual SQL, column counts that differ from the cursor's)
take the per-value path, with the same results.

``before_execute`` also keeps blind indexes right on a Core UPDATE that sets a source column but
not its index: the index is added to the statement (literal ``.values()``) or to each parameter
set (sources given as parameters); when neither is possible (a source set from a SQL expression)
the statement is refused with ``VaultkitTypeError`` rather than leaving a stale index.

One module (about 400 lines): the engine's two batch events, installed together on the same
engines by :func:`install` and described together above.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING

from sqlalchemy import Table, event
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.elements import BindParameter, Null
from sqlalchemy.sql.selectable import TableClause

from vaultkit.columns import column_context, row_key
from vaultkit.columns._context import row_key_shown
from vaultkit.errors import DecryptionError, KeyStateError, VaultkitError, VaultkitTypeError
from vaultkit.ext.sqlalchemy._base import bound
from vaultkit.ext.sqlalchemy._binding import ColumnBinding
from vaultkit.ext.sqlalchemy._cursor import Row
from vaultkit.ext.sqlalchemy._cursor import listener as cursor_listener
from vaultkit.ext.sqlalchemy._results import OpenedValues
from vaultkit.ext.sqlalchemy._sealed import PRESEALED, SealedBytes, SealedText, plaintext_of
from vaultkit.ext.sqlalchemy._types import BlindIndex, Encrypted, Tokenized

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.sql.base import Executable
    from sqlalchemy.sql.selectable import FromClause

__all__ = ["forget_write_plans", "install"]

Params = dict[str, object]  # one parameter set of a statement

_READ = "_vaultkit_read_plan"
_WRITE = "vaultkit.write_plan"


# -- reading ------------------------------------------------------------------------------------
class _ReadColumn:
    """A protected result column: its position, its type, and where the primary key of its
    table is in the row (for errors). The binding is read from the type at each fetch
    (``configure`` may re-bind)."""

    __slots__ = ("pk_positions", "position", "type")

    def __init__(
        self, position: int, type_: Encrypted | Tokenized, pk_positions: tuple[int, ...]
    ) -> None:
        self.position = position
        self.type = type_
        self.pk_positions = pk_positions


def _table_of(objects: Iterable[object]) -> tuple[str, Table] | None:
    """The key of the table column behind a result column, and its table (None for aliases,
    subqueries, expressions)."""
    for o in objects:
        table = getattr(o, "table", None)
        if isinstance(table, Table) and hasattr(o, "primary_key"):
            return str(getattr(o, "key")), table  # noqa: B009 (a Column's, without its type)
    return None


def _read_plan(compiled: object, width: int) -> list[_ReadColumn]:
    columns = getattr(compiled, "_result_columns", None)
    if not columns or len(columns) != width or not getattr(compiled, "_ordered_columns", False):
        return []
    where: dict[tuple[Table, str], int] = {}  # (table, column key) -> position
    for i, rc in enumerate(columns):
        found = _table_of(rc.objects)
        if found is not None:
            where.setdefault((found[1], found[0]), i)
    plan: list[_ReadColumn] = []
    for i, rc in enumerate(columns):
        t = rc.type
        found = _table_of(rc.objects)
        if not isinstance(t, Encrypted | Tokenized) or t.binding is None or found is None:
            continue
        if isinstance(t, Encrypted) and t.row_key is not None:
            continue  # row-bound: opened per row (ORM load event), never from a shared batch
        table = found[1]
        pks = tuple(where.get((table, c.key), -1) for c in table.primary_key)
        plan.append(_ReadColumn(i, t, pks if pks and all(p >= 0 for p in pks) else ()))
    return plan


def _open_rows(
    plan: list[_ReadColumn], rows: list[Row], opened_by_column: list[OpenedValues]
) -> list[Row]:
    """Open the planned columns of fetched ``rows`` into the cursor's ``OpenedValues`` (one per
    column, published to the column type by weak reference); the rows themselves are returned
    unchanged (SQLAlchemy's row processing takes the values)."""
    for col, values in zip(plan, opened_by_column, strict=True):
        p, t = col.position, col.type
        b = bound(t)
        stored = list(map(itemgetter(p), rows))
        if None in stored:
            stored = [v for v in stored if v is not None]
        if not stored:
            continue
        try:
            if isinstance(t, Tokenized):
                opened = t.open_many(stored)
            else:
                opened = _decrypt(t, b, stored)
        except DecryptionError as exc:
            raise DecryptionError(_where(col, rows, exc.where)) from None
        except KeyStateError as exc:  # a retired or destroyed version
            raise KeyStateError(f"{exc} ({b.where})") from None
        values.fill(stored, opened)
        t.latest.publish(values)
    return rows


def _decrypt(t: Encrypted, b: ColumnBinding, stored: Sequence[bytes | str]) -> list[object]:
    plain = b.vault.decrypt_many(stored, context=b.context)
    try:
        if t.python_type is str:
            return [pt.decode("utf-8") for pt in plain]
        decode = t.codec.decode
        return [decode(pt) for pt in plain]
    except ValueError:  # authenticated but not a value of python_type (schema changed)
        pass
    raise DecryptionError()  # outside the handler: the ValueError may hold the plaintext


def _key_text(row: Row, positions: tuple[int, ...]) -> str:
    return row_key_shown([row[p] for p in positions])


def _where(col: _ReadColumn, rows: list[Row], item: str | None) -> str:
    """Table and column, and the primary key of the failing row when it is in the result."""
    where = bound(col.type).where
    if item and item.startswith("item ") and col.pk_positions:
        nonnull = [r for r in rows if r[col.position] is not None]
        return f"{where}, primary key {_key_text(nonnull[int(item[5:])], col.pk_positions)}"
    return where


def _opening(plan: list[_ReadColumn]) -> Callable[[list[Row]], list[Row]]:
    """What one result's cursor does with its fetched rows (the opened values it owns die with
    the result)."""
    opened = [OpenedValues() for _ in plan]
    return lambda rows: _open_rows(plan, rows, opened)


_after_cursor_execute = cursor_listener(_READ, _read_plan, _opening)


# -- writing ------------------------------------------------------------------------------------
class _WritePlan:
    __slots__ = ("encrypted", "indexes", "tokenized")

    def __init__(self, table: FromClause) -> None:
        pk = tuple(c.key for c in table.primary_key)
        # (column key, type, row-key column keys or None when not row-bound)
        self.encrypted = [
            (c.key, c.type, None if c.type.row_key is None else (c.type.row_key or pk))
            for c in table.columns
            if isinstance(c.type, Encrypted)
        ]
        self.indexes = [(c.key, c.type) for c in table.columns if isinstance(c.type, BlindIndex)]
        self.tokenized = [(c.key, c.type) for c in table.columns if isinstance(c.type, Tokenized)]


def _write_plan(table: FromClause) -> _WritePlan:
    if not isinstance(table, Table):  # a lightweight table() has no columns of ours (nor info)
        return _NO_PLAN
    plan = table.info.get(_WRITE)
    if plan is None:
        plan = table.info[_WRITE] = _WritePlan(table)
    assert isinstance(plan, _WritePlan)
    return plan


_NO_PLAN = _WritePlan(TableClause("none"))


def forget_write_plans(tables: Iterable[Table]) -> None:
    for t in tables:
        t.info.pop(_WRITE, None)


def _seal_many(
    key: str, t: Encrypted, rows: list[Params], row_keys: tuple[str, ...] | None
) -> None:
    column = [r.get(key) for r in rows]
    idx = [i for i, v in enumerate(column) if v is not None and type(v) not in PRESEALED]
    if not idx:
        return
    b = bound(t)
    shared: dict[str, str] | None = b.context
    per_row: list[dict[str, str]] | None = None
    if row_keys is not None:
        keys = [[rows[i].get(k) for k in row_keys] for i in idx]
        if any(v is None for k in keys for v in k):
            return  # a row key left to the database: the per-value path refuses, naming it
        shared, per_row = None, [column_context(b.table, b.column, row_key(k)) for k in keys]
    values = [column[i] for i in idx]
    if t.python_type is str and all(type(v) is str for v in values):
        plain: list[bytes | str] = values  # type: ignore[assignment]  # all str: the Vault encodes str as UTF-8, as the str codec does
    else:
        encode = t.codec.encode
        plain = [encode(v) for v in values]
    if t.text:
        texts = b.vault.encrypt_text_many(t.key_name, plain, context=shared, contexts=per_row)
        for i, text in zip(idx, texts, strict=True):
            rows[i][key] = SealedText(text)
    else:
        blobs = b.vault.encrypt_many(t.key_name, plain, context=shared, contexts=per_row)
        for i, blob in zip(idx, blobs, strict=True):
            rows[i][key] = SealedBytes(blob)


def _tokenize_many(key: str, t: Tokenized, rows: list[Params]) -> None:
    column = [r.get(key) for r in rows]
    idx = [i for i, v in enumerate(column) if v is not None and type(v) not in PRESEALED]
    if idx:
        values = [column[i] for i in idx]
        for i, stored in zip(idx, t.seal_many(values), strict=True):
            rows[i][key] = SealedText(stored)


def _index_many(key: str, t: BlindIndex, rows: list[Params]) -> None:
    if any(key in r for r in rows) or not all(s in rows[0] for s in t.source):
        return  # given explicitly, or computed per row by the column default
    if len(t.source) == 1 and t.transform is None:
        source = t.source[0]
        values: list[object] = [plaintext_of(r.get(source)) for r in rows]
        idx = [i for i, v in enumerate(values) if v is not None]
        macs: list[object] = [
            values[i] if type(values[i]) is str else t.value_of((values[i],)) for i in idx
        ]
    else:
        sources = [tuple(plaintext_of(r.get(s)) for s in t.source) for r in rows]
        idx = [i for i, v in enumerate(sources) if all(x is not None for x in v)]
        macs = [t.value_of(sources[i]) for i in idx]
    for r in rows:
        r[key] = None
    if not idx:
        return
    b = bound(t)
    out = b.vault.blind_index_many(t.key_name, macs, context=b.index_context, bits=t.bits)
    for i, ix in zip(idx, out, strict=True):
        rows[i][key] = ix


def _set_keys(table: FromClause, clause: Update) -> dict[str, object]:
    """Column key -> value (a BindParameter or SQL expression) of an UPDATE's ``.values()``."""
    out: dict[str, object] = {}
    for k, v in clause._values.items() if clause._values else ():
        key = k if isinstance(k, str) else getattr(k, "key", None)
        if key is not None and key in table.c:
            out[key] = v
    return out


def _update_indexes(
    clause: Update, multiparams: list[Params], params: Params
) -> tuple[Executable, list[Params], Params]:
    table = clause.table
    plan = _write_plan(table)
    if not plan.indexes:
        return clause, multiparams, params
    given = _set_keys(table, clause)
    rows: list[Params] = multiparams or [params]
    for key, t in plan.indexes:
        if key in given or all(key in r for r in rows):
            continue
        if not any(s in given or s in rows[0] for s in t.source):
            continue  # no source changes: the index stays right
        found = [_source_getter(s, given, rows[0]) for s in t.source]
        getters = [g for g in found if g is not None]
        if len(getters) != len(found):
            sources = ", ".join(t.source)
            raise VaultkitTypeError(
                f"{bound(t).where}: the new value of a blind index source ({sources}) is a "
                "SQL expression or missing; give every source as a Python value, or set the "
                "index column too"
            )
        # an extra parameter named like a column is SET by the statement (SQLAlchemy crud)
        rows = [dict(r) for r in rows]
        for r in rows:
            r[key] = t.compute(tuple(plaintext_of(g(r)) for g in getters))
        multiparams, params = (rows, {}) if multiparams else ([], rows[0])
    return clause, multiparams, params


def _source_getter(
    source: str, given: Mapping[str, object], row: Params
) -> Callable[[Params], object] | None:
    """How to read ``source``'s new value from one parameter set (None: it cannot be known)."""
    value = given.get(source)
    if value is None:
        return (lambda r: r.get(source)) if source in row else None
    if isinstance(value, Null):
        return lambda r: None
    if not isinstance(value, BindParameter) or value.callable is not None:
        return None
    if not value.required:  # a literal (None included) given to .values()
        constant = value.value
        return lambda r: constant
    return (lambda r: r.get(value.key)) if value.key in row else None


def _before_execute(
    conn: Connection,
    clause: Executable,
    multiparams: list[Params],
    params: Params,
    execution_options: Mapping[str, object],
) -> tuple[Executable, list[Params], Params]:
    if isinstance(clause, Update) and clause.table is not None:
        return _update_indexes(clause, multiparams, params)
    if len(multiparams) < 2 or not isinstance(clause, Insert) or clause.table is None:
        return clause, multiparams, params
    plan = _write_plan(clause.table)
    if not (plan.encrypted or plan.indexes or plan.tokenized):
        return clause, multiparams, params
    if not isinstance(multiparams[0], dict):
        return clause, multiparams, params
    rows = [dict(r) for r in multiparams]
    try:
        for key, it in plan.indexes:  # from the plaintexts, before they are sealed
            _index_many(key, it, rows)
        for key, et, row_keys in plan.encrypted:
            if key in rows[0]:
                _seal_many(key, et, rows, row_keys)
        for key, tt in plan.tokenized:
            if key in rows[0]:
                _tokenize_many(key, tt, rows)
    except VaultkitError:
        return clause, multiparams, params  # the per-value path raises it, naming the column
    return clause, rows, params


def install(engine: Engine | AsyncEngine) -> None:
    """Install the batch paths on ``engine`` (an Engine or AsyncEngine), once."""
    sync = getattr(engine, "sync_engine", engine)
    if not event.contains(sync, "after_cursor_execute", _after_cursor_execute):
        event.listen(sync, "after_cursor_execute", _after_cursor_execute)
    if not event.contains(sync, "before_execute", _before_execute):
        event.listen(sync, "before_execute", _before_execute, retval=True)
