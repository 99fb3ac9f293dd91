"""``jdbc_reencrypt``: re-encrypt a database table with Spark after a key rotation.

Per pass: a partitioned JDBC read of the primary key and the listed columns (executors), the
stale rows computed by :func:`reencrypt` and written to a staging table (executors), then a
set-based compare-and-set merge from the staging table in primary-key chunks, one transaction
and one ``UPDATE ... FROM`` per column each, with ``vaultkit.reencrypt``'s compare-and-set
statements (driver; no key needed). A row the
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
from vaultkit.ext.spark._rowbind import records_of
from vaultkit.ext.spark._spec import VaultSpec
from vaultkit.reencrypt import Summary, _cas

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["jdbc_reencrypt"]

_DRIVERS = {"postgresql": "org.postgresql.Driver"}
# the staging write's defaults (properties= overrides them): PostgreSQL's driver sends a batch of
# INSERTs as multi-row INSERTs only with reWriteBatchedInserts
_STAGING = {"postgresql": {"batchsize": "5000", "reWriteBatchedInserts": "true"}}
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

    ``columns``/``model`` as for :func:`protect` (the contexts name ``table``; a
    ``bind_row="auto"`` declaration is resolved from the database's protected-column
    catalogue when no model resolves it). ``pk``: an
    integer primary key (the JDBC read is partitioned on it into ``partitions`` ranges; default
    ``spark.default.parallelism``). ``db``: where the driver merges (an SQLAlchemy URL or Engine;
    derived from a ``jdbc:postgresql://`` URL when omitted). ``driver``: the JDBC driver class
    (``org.postgresql.Driver`` for PostgreSQL URLs). ``staging``: the staging table
    (``<table>_vk_staging``, replaced each pass, dropped at the end). ``on_staged(n)`` is called
    with each pass's number of staged rows before its merge. Returns ``vaultkit.reencrypt``'s
    :class:`~vaultkit.reencrypt.Summary` (its ``final`` survey is read back through Spark)."""
    kind = url.split(":", 2)[1] if url.startswith("jdbc:") else ""
    driver = driver or _DRIVERS.get(kind)
    if driver is None:
        raise VaultkitTypeError(
            f"jdbc_reencrypt: give driver= (the JDBC driver class for {kind!r})"
        )
    engine = _engine_of(url, db)
    try:  # the database's own catalogue resolves bind_row="auto" (read once, here)
        catalog = list(records_of(engine, table).values())
        ops = plan(columns=columns, model=model, table=table, pk=(pk,), catalog=catalog)
    except BaseException:
        if db is None or isinstance(db, str):
            engine.dispose()
        raise
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
            stale = reencrypt(
                df, spec, pk=pk, columns=columns, model=model, table=table, catalog=catalog
            )
            stale.write.format("jdbc").options(**_STAGING.get(kind, {}), **options).option(
                "dbtable", stage_full
            ).mode("overwrite").save()
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
        summary.final = survey(
            final, spec, columns=columns, model=model, table=table, pk=pk, catalog=catalog
        )
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
    """Compare-and-set the staged rows into ``target``, set-based (``_cas.column_merge``,
    ``_cas.index_merge``): per ``chunk`` primary keys, one transaction and one ``UPDATE ...
    FROM staging`` per column, blind indexes first (their compare includes the sources' values
    as read), then columns. Exact counts: a column's staged new values in the chunk, less the
    rows its statement updated, are the rows the application changed in between."""
    dialect = engine.dialect
    ordered = sorted(ops, key=lambda op: not isinstance(op, IndexOp))  # (stable)
    plans: list[tuple[str, _cas.Statement]] = [
        (
            op.column + NEW,
            _cas.index_merge(target, stage, pk, op.source, op.column, op.column + NEW, dialect)
            if isinstance(op, IndexOp)
            else _cas.column_merge(target, stage, pk, op.column, op.column + NEW, dialect),
        )
        for op in ordered
    ]
    with engine.begin() as conn:  # the chunks' range queries run on the staged key's index
        sa.Index(f"{stage.name}_vk_pk", stage.c[pk], unique=True).create(conn)
    rewritten = conflicts = 0
    after: object = None
    while True:
        with engine.begin() as conn:
            rows = sa.select(stage.c[pk], *(stage.c[new] for new, _ in plans)).order_by(stage.c[pk])
            if after is not None:
                rows = rows.where(stage.c[pk] > after)
            part = rows.limit(chunk).subquery()
            first, last, *staged = conn.execute(
                sa.select(
                    sa.func.min(part.c[pk]),
                    sa.func.max(part.c[pk]),
                    *(sa.func.count(part.c[new]) for new, _ in plans),
                )
            ).one()
            if first is None:
                break
            bounds = {"vk_first": first, "vk_last": last}
            for (_, statement), n in zip(plans, staged, strict=True):
                if n:
                    done = _cas.execute_one(conn, statement, bounds)
                    rewritten += done
                    conflicts += int(n) - done
            after = last
    return rewritten, conflicts
