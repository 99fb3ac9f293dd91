"""The compare-and-set writes of a re-encryption: ``UPDATE t SET c = :new WHERE pk = :pk AND
c = :old`` (and, for a blind index, ``AND src = :src AND ix = :old``), run as one
``executemany`` straight to the driver. A concurrent application write changes ``c`` (or the
source), so its update matches no row and the application's value stays; the next pass picks
the row up. :class:`~vaultkit.reencrypt.Reencryptor` writes through these.

A staging table of computed values (``vaultkit.ext.spark``'s ``jdbc_reencrypt``) is merged
set-based instead, one statement per column and primary-key range (:func:`column_merge`,
:func:`index_merge`): ``UPDATE t SET c = s.c_new FROM staging s WHERE t.pk = s.pk AND t.c =
s.c`` (PostgreSQL and SQLite >= 3.33 ``UPDATE ... FROM``), the same compare-and-set per row: a
row whose value (or index source) changed since it was staged matches nothing and keeps the
application's value. Under PostgreSQL's READ COMMITTED a row the application updates while the
merge runs is re-checked against its new version before it is written (the ``WHERE`` is
re-evaluated), so the application's write wins there too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

__all__ = [
    "Statement",
    "column_merge",
    "column_update",
    "execute",
    "execute_one",
    "index_merge",
    "index_update",
    "key_params",
    "key_where",
]

Statement = tuple[str, tuple[str, ...] | None]  # DBAPI SQL, and its parameter order if positional


def key_where(pks: Sequence[sa.Column[object]]) -> list[sa.ColumnElement[bool]]:
    return [pk == sa.bindparam(f"vk_pk{i}") for i, pk in enumerate(pks)]


def key_params(key: Sequence[object]) -> dict[str, object]:
    return {f"vk_pk{i}": v for i, v in enumerate(key)}


def _compiled(stmt: sa.Update, dialect: Dialect) -> Statement:
    compiled = stmt.compile(dialect=dialect)
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    return str(compiled), order


def column_update(
    table: sa.Table,
    pks: Sequence[sa.Column[object]],
    column: str,
    dialect: Dialect,
    *,
    index_column: str | None = None,
) -> Statement:
    """``SET column = :vk_new WHERE pk = :vk_pk<i> AND column = :vk_old`` (and, with
    ``index_column``, also ``SET index_column = :vk_bidx``)."""
    values: dict[str, sa.BindParameter[object]] = {column: sa.bindparam("vk_new")}
    if index_column is not None:
        values[index_column] = sa.bindparam("vk_bidx")
    stmt = (
        table.update()
        .where(*key_where(pks), table.c[column] == sa.bindparam("vk_old"))
        .values(values)
    )
    return _compiled(stmt, dialect)


def index_update(
    table: sa.Table,
    pks: Sequence[sa.Column[object]],
    sources: Sequence[str],
    index_column: str,
    dialect: Dialect,
    *,
    null: bool,
) -> Statement:
    """``SET index = :vk_new WHERE pk = ... AND src<i> = :vk_src<i> AND index = :vk_old`` (or
    ``index IS NULL``): the sources compared too, since the index was computed from them. The
    first source's parameter is ``vk_src`` (as one source's always was)."""
    ix = table.c[index_column]
    same = [
        table.c[s] == sa.bindparam("vk_src" if i == 0 else f"vk_src{i}")
        for i, s in enumerate(sources)
    ]
    stmt = (
        table.update()
        .where(*key_where(pks), *same, ix.is_(None) if null else ix == sa.bindparam("vk_old"))
        .values({ix.name: sa.bindparam("vk_new")})
    )
    return _compiled(stmt, dialect)


def execute(
    conn: Connection, dialect: Dialect, statement: Statement, params: Sequence[Mapping[str, object]]
) -> int:
    """One executemany straight to the driver (the values are already bytes/str/ints, so
    SQLAlchemy's per-parameter processing is skipped); the number of rows updated."""
    sql, order = statement
    rows: Sequence[Mapping[str, object]] | list[tuple[object, ...]] = (
        params if order is None else [tuple(p[n] for n in order) for p in params]
    )
    result = conn.exec_driver_sql(sql, rows)
    if dialect.supports_sane_multi_rowcount and result.rowcount >= 0:
        return int(result.rowcount)
    return len(params)


def _staged_range(
    target: sa.Table, stage: sa.Table, pk: str, new: str
) -> list[sa.ColumnElement[bool]]:
    """The join on the (one-column) primary key, the staged rows of one key range
    ``:vk_first <= pk <= :vk_last``, and only those with a new value."""
    key = stage.c[pk]
    return [
        target.c[pk] == key,
        key >= sa.bindparam("vk_first"),
        key <= sa.bindparam("vk_last"),
        stage.c[new].is_not(None),
    ]


def column_merge(
    target: sa.Table, stage: sa.Table, pk: str, column: str, new: str, dialect: Dialect
) -> Statement:
    """``UPDATE target SET column = stage.new FROM stage WHERE target.pk = stage.pk AND
    target.column = stage.column`` for the staged rows of ``:vk_first..:vk_last`` whose ``new``
    is not NULL: ``stage.column`` is the value the new one was computed from."""
    stmt = (
        target.update()
        .where(*_staged_range(target, stage, pk, new), target.c[column] == stage.c[column])
        .values({column: stage.c[new]})
    )
    return _compiled(stmt, dialect)


def index_merge(
    target: sa.Table,
    stage: sa.Table,
    pk: str,
    sources: Sequence[str],
    index_column: str,
    new: str,
    dialect: Dialect,
) -> Statement:
    """As :func:`column_merge` for a blind index: the sources compared too (the index was
    computed from their staged values), and the old index compared NULL-safely (``IS NOT
    DISTINCT FROM``; SQLite's ``IS``), as :func:`index_update`'s two forms do."""
    ix = target.c[index_column]
    stmt = (
        target.update()
        .where(
            *_staged_range(target, stage, pk, new),
            *(target.c[s] == stage.c[s] for s in sources),
            ix.is_not_distinct_from(stage.c[index_column]),
        )
        .values({index_column: stage.c[new]})
    )
    return _compiled(stmt, dialect)


def execute_one(conn: Connection, statement: Statement, params: Mapping[str, object]) -> int:
    """One execution of a set-based statement; the number of rows it updated."""
    sql, order = statement
    args: Mapping[str, object] | tuple[object, ...] = (
        params if order is None else tuple(params[n] for n in order)
    )
    return int(conn.exec_driver_sql(sql, args).rowcount)
