"""Spark scale-out (issue 17): ``protect`` with mapInArrow on local[2] against one process
calling the batch API on the same data, and ``jdbc_reencrypt`` rows/s on PostgreSQL.

Usage: python benchmarks/bench_spark.py OUT.json [ROWS] [--only protect|jdbc]   (default
1,000,000 rows, both parts; report.py ``--spark OUT.json`` renders a run of both as the "Spark"
section of RESULTS.md; ``--only`` measures one part, e.g. while changing it). Not a pytest module (a
Spark session per ``make test`` would cost more than it checks; tests/ext/spark is the proof):
it defines no tests, and runs only as a script.

Data: ROWS rows of a 19-digit card number (tokenized, FF1-SM4, ``card`` format) and a Chinese
resident ID number (encrypted, SM4-GCM), written once to Parquet in 8 row groups. Rows/s are
best of ``RUNS`` wall-clock runs; Spark's are end to end (read Parquet, protect, write to the
``noop`` sink); the single process reads the same file with pyarrow and calls
``tokenize_many`` + ``encrypt_many`` in batches of 10,000 (Spark's Arrow batch size).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNS = 3
BATCH = 10_000
PASSPHRASE = "bench passphrase"
TABLE = "bench_customers"


def _data(path: Path, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vaultkit.identifiers import cn_id_check_char, luhn_check_digit

    rng = random.Random(17)
    cards, ids = [], []
    for _ in range(rows):
        body = "622202" + f"{rng.randrange(10**12):012d}"
        cards.append(body + luhn_check_digit(body))
        birth = f"19{rng.randrange(50, 99)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        id_body = f"110105{birth}{rng.randrange(1000):03d}"
        ids.append(id_body + cn_id_check_char(id_body))
    table = pa.table(
        {"id": pa.array(range(1, rows + 1), pa.int64()), "card_no": cards, "id_no": ids}
    )
    pq.write_table(table, path, row_group_size=(rows + 7) // 8)


def _declarations() -> dict[str, Any]:
    from vaultkit.ext.sqlalchemy import Encrypted, Tokenized

    return {
        "card_no": Tokenized("customers.card", format="card"),
        "id_no": Encrypted("customers.id_no", bind_row=False),
    }


def _single(path: Path, ring: Any) -> float:
    """Rows/s of one process: the same columns, the same contexts, the batch API."""
    import pyarrow.parquet as pq

    from vaultkit import Vault
    from vaultkit.columns import column_context, format_token

    table = pq.read_table(path)
    n = table.num_rows
    best = 0.0
    with Vault(ring) as vault:
        version = ring.primary_key("customers.card").version
        card_ctx = column_context(TABLE, "card_no")
        id_ctx = column_context(TABLE, "id_no")
        for _ in range(RUNS):
            start = time.perf_counter()
            for batch in table.to_batches(BATCH):
                cards = batch.column("card_no").to_pylist()
                tokens = vault.tokenize_many(
                    "customers.card", cards, format="card", context=card_ctx, version=version
                )
                _ = [format_token(version, t) for t in tokens]
                _ = vault.encrypt_many(
                    "customers.id_no", batch.column("id_no").to_pylist(), context=id_ctx
                )
            best = max(best, n / (time.perf_counter() - start))
    return best


def _timed(run: Any) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _spark_protect(spark: Any, spec: Any, path: Path, n: int) -> dict[str, float]:
    from vaultkit.ext.spark import protect

    # a file smaller than spark.sql.files.maxPartitionBytes (128 MB) is one split, whatever its
    # row groups: split it into its 8 row groups (docs/spark.md, "Partitioning")
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(max(path.stat().st_size // 8, 1 << 16)))
    df = spark.read.parquet(str(path))
    columns = _declarations()
    # the first run also opens each worker's Vault (scrypt): counted separately
    first = _timed(
        lambda: (
            protect(df, spec, columns=columns, table=TABLE)
            .write.format("noop")
            .mode("overwrite")
            .save()
        )
    )
    runs = [
        _timed(
            lambda: (
                protect(df, spec, columns=columns, table=TABLE)
                .write.format("noop")
                .mode("overwrite")
                .save()
            )
        )
        for _ in range(RUNS)
    ]

    def identity(batches: Any) -> Any:
        yield from batches

    floor = min(
        _timed(
            lambda: df.mapInArrow(identity, df.schema).write.format("noop").mode("overwrite").save()
        )
        for _ in range(RUNS)
    )
    return {
        "first": n / first,
        "best": n / min(runs),
        "floor": n / floor,
        "partitions": df.rdd.getNumPartitions(),
    }


def _jdbc(spark: Any, spec_of: Any, ring: Any, n: int) -> dict[str, float]:
    """Protect n rows into PostgreSQL (through Spark), rotate both keys, jdbc_reencrypt."""
    import sqlalchemy as sa
    from tests.conftest import postgres_url

    from vaultkit.ext.spark import jdbc_reencrypt, protect

    with contextlib.contextmanager(postgres_url.__wrapped__)() as url:
        engine = sa.create_engine(url, hide_parameters=True)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE TABLE {TABLE} (id bigint PRIMARY KEY, card_no varchar(80), id_no bytea)"
            )
        u = sa.engine.make_url(url)
        jdbc = f"jdbc:postgresql://{u.host}:{u.port}/{u.database}?user={u.username}"
        spec = spec_of("bench-v1.vk")
        df = spark.range(1, n + 1).selectExpr(
            "id",
            "concat('6222020', lpad(cast(id as string), 11, '0'), '0') as card0",
            "concat('11010519800101', lpad(cast(id % 1000 as string), 3, '0'), 'X') as id_no",
        )
        # a Luhn-valid card per row: the check digit computed in Python once per batch
        from vaultkit.identifiers import luhn_check_digit

        def fix(batches: Any) -> Any:
            import pyarrow as pa

            for b in batches:
                cards = [c[:-1] + luhn_check_digit(c[:-1]) for c in b.column("card0").to_pylist()]
                yield pa.RecordBatch.from_arrays(
                    [b.column("id"), pa.array(cards), b.column("id_no")],
                    names=["id", "card_no", "id_no"],
                )

        plain = df.mapInArrow(fix, "id long, card_no string, id_no string")
        stored = protect(plain, spec, columns=_declarations(), table=TABLE)
        stored.write.format("jdbc").options(
            url=jdbc, driver="org.postgresql.Driver", dbtable=TABLE
        ).mode("append").save()
        for key in ("customers.card", "customers.id_no"):
            ring.rotate_key(key)
        after = spec_of("bench-v2.vk")
        marks: list[float] = []
        start = time.perf_counter()
        summary = jdbc_reencrypt(
            spark,
            after,
            url=jdbc,
            table=TABLE,
            columns=_declarations(),
            pk="id",
            db=engine,
            chunk=5000,
            on_staged=lambda _: marks.append(time.perf_counter()),
        )
        total = time.perf_counter() - start
        staging = marks[0] - start
        staged: list[int] = []
        start = time.perf_counter()
        jdbc_reencrypt(
            spark,
            after,
            url=jdbc,
            table=TABLE,
            columns=_declarations(),
            pk="id",
            db=engine,
            on_staged=staged.append,
        )
        rerun = time.perf_counter() - start
        engine.dispose()
        assert summary.complete and staged == [0], (summary.as_dict(), staged)
        return {
            "rows": n,
            "rewritten": summary.rewritten,
            "seconds": total,
            "rows_per_s": n / total,
            # read + reencrypt + staging write (Spark), then merge + verification survey
            "staged_seconds": staging,
            "merge_and_survey_seconds": total - staging,
            "rerun_seconds": rerun,
        }


def main(argv: list[str]) -> int:
    only = None
    if "--only" in argv:
        at = argv.index("--only")
        only = argv[at + 1] if at + 1 < len(argv) else None
        argv = argv[:at] + argv[at + 2 :]
    if len(argv) not in (2, 3) or only not in (None, "protect", "jdbc"):
        print(__doc__, file=sys.stderr)
        return 2
    rows = int(argv[2]) if len(argv) == 3 else 1_000_000
    load_at_start = os.getloadavg()
    import shutil

    import pyspark
    from pyspark.sql import SparkSession

    from vaultkit.ext.spark import VaultSpec
    from vaultkit.keys import KeyRing, LocalKMS

    work = Path(tempfile.mkdtemp(prefix="vaultkit-bench-spark-"))
    data = work / "customers.parquet"
    _data(data, rows)
    secret = work / "passphrase"
    secret.write_text(PASSPHRASE)
    secret.chmod(0o600)
    ring = KeyRing.create(work / "bench.vk", LocalKMS(passphrase=PASSPHRASE))
    ring.create_key("customers.card", algorithm="FF1-SM4")
    ring.create_key("customers.id_no", algorithm="SM4-GCM")
    os.environ.pop("VAULTKIT_PASSPHRASE", None)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("vaultkit-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.driver.extraClassPath", "/usr/share/java/postgresql.jar")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")

    def spec_of(name: str) -> VaultSpec:
        copy = work / name
        shutil.copy(ring.path, copy)
        return VaultSpec(ring=str(copy), ring_id=ring.ring_id, secret=f"file:{secret}").distribute(
            spark
        )

    out: dict[str, Any] = {"rows": rows}
    if only in (None, "protect"):
        single = _single(data, ring)
        protect_ = _spark_protect(spark, spec_of("bench-protect.vk"), data, rows)
        out.update(single_rows_per_s=single, spark=protect_, ratio=protect_["best"] / single)
    if only in (None, "jdbc"):
        out["jdbc"] = _jdbc(spark, spec_of, ring, min(rows, 200_000))
    spark.stop()
    out |= {
        "machine": {
            "cpus": os.cpu_count(),
            "load": os.getloadavg(),
            "load_at_start": load_at_start,
            "python": platform.python_version(),
            "pyspark": pyspark.__version__,
            "platform": platform.platform(),
        },
        "command": f"python benchmarks/bench_spark.py {argv[1]} {rows}"
        + (f" --only {only}" if only else ""),
    }
    Path(argv[1]).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    ring.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # tests.conftest: the PostgreSQL server of the test suite
    sys.exit(main(sys.argv))
