"""``jdbc_reencrypt``: re-encrypt a database table with Spark after a key rotation.

Per pass: a partitioned JDBC read of the primary key and the listed columns (executors), the
stale rows computed by :func:`reencrypt` and written to a staging table (executors), then a
compare-and-set merge from the staging table in primary-key chunks, one transaction each, with
``vaultkit.reencrypt``'s own compare-and-set statements (driver; no key needed). A row the
application changed in between keeps the application's value and is picked up by the next
pass; a rerun stages 0 rows. A final :func:`survey` of the table verifies every value is on its
key's primary version.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote

import sqlalchemy as sa

from vaultkit.columns import split_table_name
from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.spark._plan import Columns, IndexOp, Model, Op, plan
from vaultkit.ext.spark._reencrypt import NEW, reencrypt, survey
from vaultkit.ext.spark._spec import VaultSpec
from vaultkit.reencrypt import Summary, _cas

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from sqlalchemy.engine import RowMapping

__all__ = ["jdbc_reencrypt"]

_DRIVERS = {"postgresql": "org.postgresql.Driver"}
_PG = re.compile(r"jdbc:postgresql://([^/?]+)/([^?]+)(?:\?(.*))?")


def _engine_of(url: str, db: str | sa.Engine | None) -> sa.Engine:
    if isinstance(db, sa.Engine):
        return db
    if db is None:
        m = _PG.fullmatch(url)
        if m is None:
            raise VaultkitTypeError(
                "jdbc_reencrypt: give db= (an SQLAlchemy URL or Engine) for the merge; only a "
                "jdbc:postgresql:// URL is translated"
            )
        host, name, query = m.groups()
        params = {k: v[-1] for k, v in parse_qs(query or "").items()}
        user = params.get("user", "")
        password = params.get("password")
        auth = quote(user) + (":" + quote(password) if password else "") + ("@" if user else "")
        db = f"postgresql+psycopg://{auth}{host}/{name}"
    return sa.create_engine(db, hide_parameters=True)


def jdbc_reencrypt(
    spark: SparkSession,
    spec: VaultSpec,
    *,
    url: str,
    table: str,
    pk: str,
    columns: Columns = None,
    model: Model = None,
    db: str | sa.Engine | None = None,
    driver: str | None = None,
    properties: dict[str, str] | None = None,
    partitions: int | None = None,
    chunk: int = 5000,
    max_passes: int = 3,
    staging: str | None = None,
    on_staged: Callable[[int], None] | None = None,
) -> Summary:
    """Move every listed column of ``table`` (JDBC ``url``) to its key's primary version.

    ``columns``/``model`` as for :func:`protect` (the contexts name ``table``). ``pk``: an
    integer primary key (the JDBC read is partitioned on it into ``partitions`` ranges; default
    ``spark.default.parallelism``). ``db``: where the driver merges (an SQLAlchemy URL or Engine;
    derived from a ``jdbc:postgresql://`` URL when omitted). ``driver``: the JDBC driver class
    (``org.postgresql.Driver`` for PostgreSQL URLs). ``staging``: the staging table
    (``<table>_vk_staging``, replaced each pass, dropped at the end). ``on_staged(n)`` is called
    with each pass's number of staged rows before its merge. Returns ``vaultkit.reencrypt``'s
    :class:`~vaultkit.reencrypt.Summary` (its ``final`` survey is read back through Spark)."""
    ops = plan(columns=columns, model=model, table=table, pk=(pk,))
    kind = url.split(":", 2)[1] if url.startswith("jdbc:") else ""
    driver = driver or _DRIVERS.get(kind)
    if driver is None:
        raise VaultkitTypeError(
            f"jdbc_reencrypt: give driver= (the JDBC driver class for {kind!r})"
        )
    engine = _engine_of(url, db)
    schema, name = split_table_name(table)
    target = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=engine)
    stage_name = staging or f"{name}_vk_staging"
    stage_full = f"{schema}.{stage_name}" if schema else stage_name
    options = {"url": url, "driver": driver, **(properties or {})}
    read = sorted({pk, *(c for op in ops for c in (op.column, *op.inputs))})
    summary = Summary()
    start = time.perf_counter()
    try:
        for _ in range(max_passes):
            summary.passes += 1
            df = _read(spark, engine, target, options, table, pk, read, partitions)
            stale = reencrypt(df, spec, pk=pk, columns=columns, model=model, table=table)
            stale.write.format("jdbc").options(**options).option("dbtable", stage_full).mode(
                "overwrite"
            ).save()
            stage = sa.Table(stage_name, sa.MetaData(), schema=schema, autoload_with=engine)
            with engine.connect() as conn:
                staged = int(
                    conn.execute(sa.select(sa.func.count()).select_from(stage)).scalar_one()
                )
            if on_staged is not None:
                on_staged(staged)
            rewritten, conflicts = _merge(engine, target, stage, ops, pk, chunk)
            summary.rewritten += rewritten
            summary.conflicts += conflicts
            if staged == 0 or conflicts == 0:
                break
        with engine.connect() as conn:
            summary.rows = int(
                conn.execute(sa.select(sa.func.count()).select_from(target)).scalar_one()
            )
        summary.seconds = time.perf_counter() - start
        final = _read(spark, engine, target, options, table, pk, read, partitions)
        summary.final = survey(final, spec, columns=columns, model=model, table=table, pk=pk)
    finally:
        with engine.begin() as conn:
            sa.Table(stage_name, sa.MetaData(), schema=schema).drop(conn, checkfirst=True)
        if db is None or isinstance(db, str):
            engine.dispose()
    return summary


def _read(
    spark: SparkSession,
    engine: sa.Engine,
    target: sa.Table,
    options: dict[str, str],
    table: str,
    pk: str,
    read: Sequence[str],
    partitions: int | None,
) -> DataFrame:
    """The table's key and listed columns, read in ``partitions`` primary-key ranges."""
    with engine.connect() as conn:
        lo, hi = conn.execute(sa.select(sa.func.min(target.c[pk]), sa.func.max(target.c[pk]))).one()
    reader = spark.read.format("jdbc").options(**options).option("dbtable", table)
    if lo is not None:
        n = partitions or spark.sparkContext.defaultParallelism
        reader = (
            reader.option("partitionColumn", pk)
            .option("lowerBound", str(lo))
            .option("upperBound", str(hi + 1))
            .option("numPartitions", str(n))
        )
    return reader.load().select(*read)


def _merge(
    engine: sa.Engine,
    target: sa.Table,
    stage: sa.Table,
    ops: Sequence[Op],
    pk: str,
    chunk: int,
) -> tuple[int, int]:
    """Compare-and-set the staged rows into ``target``, ``chunk`` primary keys per transaction:
    blind indexes first (their compare includes the sources' values as read), then columns."""
    pks = [target.c[pk]]
    dialect = engine.dialect
    plans: list[tuple[Op, _cas.Statement, _cas.Statement | None]] = []
    for op in ops:
        if isinstance(op, IndexOp):
            plans.append(
                (
                    op,
                    _cas.index_update(target, pks, op.source, op.column, dialect, null=False),
                    _cas.index_update(target, pks, op.source, op.column, dialect, null=True),
                )
            )
    plans += [
        (op, _cas.column_update(target, pks, op.column, dialect), None)
        for op in ops
        if not isinstance(op, IndexOp)
    ]
    rewritten = conflicts = 0
    after: object = None
    while True:
        with engine.begin() as conn:
            q = sa.select(stage).order_by(stage.c[pk]).limit(chunk)
            if after is not None:
                q = q.where(stage.c[pk] > after)
            rows = [r._mapping for r in conn.execute(q)]
            if not rows:
                break
            for op, statement, when_null in plans:
                set_, null = [], []
                for r in rows:
                    new = r[op.column + NEW]
                    if new is None:
                        continue
                    p = {**_cas.key_params((r[pk],)), "vk_new": new}
                    if isinstance(op, IndexOp):
                        p.update(_sources(op, r))
                        if r[op.column] is None:
                            null.append(p)
                            continue
                    p["vk_old"] = r[op.column]
                    set_.append(p)
                for params, stmt in ((set_, statement), (null, when_null)):
                    if params and stmt is not None:
                        done = _cas.execute(conn, dialect, stmt, params)
                        rewritten += done
                        conflicts += len(params) - done
            after = rows[-1][pk]
    return rewritten, conflicts


def _sources(op: IndexOp, row: RowMapping) -> dict[str, object]:
    return {("vk_src" if i == 0 else f"vk_src{i}"): row[s] for i, s in enumerate(op.source)}
