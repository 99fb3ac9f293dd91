"""The compare-and-set writes of a re-encryption: ``UPDATE t SET c = :new WHERE pk = :pk AND
c = :old`` (and, for a blind index, ``AND src = :src AND ix = :old``), run as one
``executemany`` straight to the driver. A concurrent application write changes ``c`` (or the
source), so its update matches no row and the application's value stays; the next pass picks
the row up. :class:`~vaultkit.reencrypt.Reencryptor` and ``vaultkit.ext.spark``'s
``jdbc_reencrypt`` (which merges a staging table) both write through these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

__all__ = ["Statement", "column_update", "execute", "index_update", "key_params", "key_where"]

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
