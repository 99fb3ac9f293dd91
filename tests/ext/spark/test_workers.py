"""Per-process Vaults: one open per Python worker with worker reuse (the default), all later
tasks of that worker reuse it; with reuse off, one open per task (each task its own worker);
every (salt, nonce) pair is unique across workers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tests.ext.models import Customer
from tests.ext.spark._data import frame
from vaultkit.envelope._format import FIXED_LEN, HEADER_LEN, NONCE_LEN, SALT_LEN
from vaultkit.ext.spark import VaultSpec, protect


def test_one_vault_open_per_worker_process(spark: Any, spec: VaultSpec, spark_dirs: Path) -> None:
    audited = VaultSpec(
        ring=spec.ring,
        ring_id=spec.ring_id,
        secret=spec.secret,
        audit="tests.ext.spark.sinks:counting",
    ).distribute(spark)
    log = spark_dirs / "audit.log"
    log.unlink(missing_ok=True)
    df = frame(spark, 400, partitions=8)
    for _ in range(2):  # 16 tasks on 2 cores
        assert protect(df, audited, model=Customer, columns=["name", "card_no"]).count() == 400
    lines = [line.split() for line in log.read_text().splitlines()]
    opens = Counter(w[1] for w in lines if w[0] == "open")
    workers = {w[1] for w in lines if w[0] == "event"}
    assert workers and set(opens) == workers  # each worker that did work opened a Vault ...
    assert set(opens.values()) == {1}  # ... once, for all its tasks
    assert len(workers) < 16
    # and audited what it did: 2 columns x 400 rows x 2 jobs (NULLs are not sent)
    names = sum(int(w[4]) for w in lines if w[0] == "event" and w[3] == "customers.name")
    assert 0 < names <= 800


def _pairs(stored: list[Any], columns: tuple[str, ...]) -> list[tuple[bytes, bytes]]:
    return [
        (bytes(v[FIXED_LEN : FIXED_LEN + SALT_LEN]), bytes(v[HEADER_LEN : HEADER_LEN + NONCE_LEN]))
        for r in stored
        for v in (r[c] for c in columns)
        if v is not None
    ]


def test_one_vault_open_per_task_without_worker_reuse(
    spark: Any, spec: VaultSpec, spark_dirs: Path
) -> None:
    """``spark.python.worker.reuse=false`` (read by each task's Python runner from the running
    context's conf): every task forks a fresh worker, which opens its own Vault. Also the
    (salt, nonce) pairs of those 8 processes, forked from one daemon, are all distinct."""
    audited = VaultSpec(
        ring=spec.ring,
        ring_id=spec.ring_id,
        secret=spec.secret,
        audit="tests.ext.spark.sinks:counting",
        principal="reuse-off",  # (a spec of its own: no worker has it cached)
    ).distribute(spark)
    log = spark_dirs / "audit.log"
    log.unlink(missing_ok=True)
    conf = spark.sparkContext._conf  # the running context's own SparkConf
    conf.set("spark.python.worker.reuse", "false")
    try:
        df = frame(spark, 800, partitions=8)
        stored = protect(df, audited, model=Customer, columns=["name", "note"]).collect()
    finally:
        conf.set("spark.python.worker.reuse", "true")
    lines = [line.split() for line in log.read_text().splitlines()]
    opens = Counter(w[1] for w in lines if w[0] == "open")
    workers = {w[1] for w in lines if w[0] == "event"}
    assert set(opens.values()) == {1}  # each process opened once ...
    assert len(opens) == 8 and workers == set(opens)  # ... and there was one per task
    pairs = _pairs(stored, ("name", "note"))
    assert len(pairs) > 1200 and len(set(pairs)) == len(pairs)


def test_salt_nonce_pairs_unique_across_workers(spark: Any, spec: VaultSpec) -> None:
    df = frame(spark, 1500, partitions=6)
    stored = protect(df, spec, model=Customer, columns=["name", "id_no", "note"]).collect()
    pairs = _pairs(stored, ("name", "id_no", "note"))
    assert len(pairs) > 3000
    assert len(set(pairs)) == len(pairs)
