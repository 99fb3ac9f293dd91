"""Re-encryption after a key rotation: reencrypt/survey over Parquet (written to a new path),
jdbc_reencrypt on the real PostgreSQL (every value on the primary version, the application's
writes between staging and merge win with the set-based merge, also one in flight while the
merge runs; a rerun stages 0 rows)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pyspark.sql import functions as F
from sqlalchemy.orm import Session

from tests.ext._support import sample
from tests.ext.models import KEYS, Base, Customer
from tests.ext.spark._data import frame, rows
from tests.ext.spark.conftest import PASSPHRASE
from vaultkit.errors import RowBindingError
from vaultkit.ext.spark import VaultSpec, jdbc_reencrypt, protect, reencrypt, reveal, survey
from vaultkit.ext.sqlalchemy import Encrypted, configure
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.vault import Vault

ROTATED = ["customers.name", "customers.card", "customers.id_no.bidx", "customers.note"]
COLUMNS = ["name", "card_no", "id_no", "id_no_bidx", "note"]


def _ring(path: Path) -> KeyRing:
    ring = KeyRing.create(path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**10))
    for name, algorithm in KEYS.items():
        ring.create_key(name, algorithm=algorithm)
    return ring


def _spec(spark: Any, ring: KeyRing, spark_dirs: Path, name: str) -> VaultSpec:
    """A spec of the ring as it is now (a copy under its own name: a shipped file is fixed)."""
    copy = spark_dirs / name
    shutil.copy(ring.path, copy)
    return VaultSpec(
        ring=str(copy), ring_id=ring.ring_id, secret=f"file:{spark_dirs / 'passphrase'}"
    ).distribute(spark)


def test_parquet_reencrypt_to_a_new_path(spark: Any, spark_dirs: Path, tmp_path: Path) -> None:
    ring = _ring(tmp_path / "parquet.vk")
    before = _spec(spark, ring, spark_dirs, "parquet-v1.vk")
    old_path, new_path = str(tmp_path / "v1.parquet"), str(tmp_path / "v2.parquet")
    protect(frame(spark, 90, partitions=3), before, model=Customer, columns=COLUMNS).write.parquet(
        old_path
    )
    for key in ROTATED:
        ring.rotate_key(key)
    after = _spec(spark, ring, spark_dirs, "parquet-v2.vk")
    old = spark.read.parquet(old_path)
    surveyed = {s.column: s for s in survey(old, after, model=Customer, columns=COLUMNS, pk="id")}
    assert surveyed["name"].stale == surveyed["name"].rows - surveyed["name"].nulls > 0
    assert surveyed["id_no"].stale == 0  # its key was not rotated
    assert surveyed["id_no_bidx"].current == 0 and surveyed["id_no_bidx"].unmatched == 0

    stale = reencrypt(old, after, pk="id", model=Customer, columns=COLUMNS)
    assert stale.count() == 90  # every row has a rotated column
    assert stale.where(F.col("id_no_new").isNotNull()).count() == 0  # headers: current, untouched
    # the caller's swap: new values where stale, written to a new path
    new = (
        old.alias("o")
        .join(stale.alias("s"), "id", "left")
        .select(
            "id",
            *[
                F.coalesce(F.col(f"s.{c}_new"), F.col(f"o.{c}")).alias(c)
                if c in COLUMNS
                else F.col(f"o.{c}")
                for c in old.columns
                if c != "id"
            ],
        )
    )
    new.write.parquet(new_path)
    fresh = spark.read.parquet(new_path)
    final = survey(fresh, after, model=Customer, columns=COLUMNS, pk="id")
    assert all(s.stale == 0 and s.plaintext == 0 for s in final)
    assert reencrypt(fresh, after, pk="id", model=Customer, columns=COLUMNS).count() == 0
    opened = {r.id: r for r in reveal(fresh, after, model=Customer, columns=COLUMNS).collect()}
    for e in rows(90):
        assert (opened[e["id"]].name, opened[e["id"]].card_no, opened[e["id"]].note) == (
            e["name"],
            e["card_no"],
            e["note"],
        )
    ring.close()


@pytest.fixture
def pg(postgres_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(postgres_url, hide_parameters=True)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.mark.postgres
def test_jdbc_reencrypt_on_postgres(
    spark: Any, spark_dirs: Path, tmp_path: Path, pg: sa.Engine, postgres_url: str
) -> None:
    ring = _ring(tmp_path / "jdbc.vk")
    vault = Vault(ring)
    configure(vault, Base, engine=pg)
    expected = rows(150)
    with Session(pg) as session:
        session.add_all(Customer(**r) for r in expected)
        session.commit()
    for key in ROTATED:
        ring.rotate_key(key)
    spec = _spec(spark, ring, spark_dirs, "jdbc-v2.vk")
    u = sa.engine.make_url(postgres_url)
    url = f"jdbc:postgresql://{u.host}:{u.port}/{u.database}?user={u.username}"
    staged: list[int] = []
    moved_id = sample(11)["id_no"]  # (row 11 has none: a unique new value)
    commits: list[threading.Thread] = []

    def application_writes(n: int) -> None:
        """Between staging and merge the application changes rows 8 (a stale column) and 9 (the
        source of a stale blind index), committed; and holds an uncommitted change of row 20's
        note while the merge starts, committed 1 s later: the merge waits for it and re-checks."""
        staged.append(n)
        if len(staged) > 1:
            return
        with Session(pg) as session:
            session.get(Customer, 8).name = "written by the application"
            session.get(Customer, 9).id_no = moved_id
            session.commit()
        held = Session(pg)
        held.get(Customer, 20).note = "in flight"
        held.flush()  # row 20 locked until the commit

        def commit() -> None:
            time.sleep(1.0)
            try:
                held.commit()
            finally:
                held.close()

        commits.append(threading.Thread(target=commit))
        commits[0].start()

    try:
        summary = jdbc_reencrypt(
            spark,
            spec,
            url=url,
            table="vk_customers",
            model=Customer,
            columns=COLUMNS,
            pk="id",
            partitions=3,
            chunk=40,
            on_staged=application_writes,
        )
    finally:
        for t in commits:
            t.join()
    # the three rows kept the application's values (name, index, note) and were staged again:
    # the application wrote them under the primary versions, so the second pass staged 0
    assert staged == [150, 0] and summary.conflicts == 3 and summary.passes == 2
    assert summary.complete, [s.as_dict() for s in summary.final]
    assert summary.rows == 150
    changed = {8: {"name": "written by the application"}, 9: {"id_no": moved_id}}
    changed[20] = {"note": "in flight"}
    with Session(pg) as session:  # every value still opens through the ORM, rows 8, 9, 20 kept
        for c in session.scalars(sa.select(Customer)):
            e = {**expected[c.id - 1], **changed.get(c.id, {})}
            assert (c.name, c.card_no, c.id_no, c.note) == (
                e["name"],
                e["card_no"],
                e["id_no"],
                e["note"],
            )
        found = session.scalars(sa.select(Customer).where(Customer.id_no == expected[2]["id_no"]))
        assert [c.id for c in found] == [3]  # the rebuilt index answers searches
        found = session.scalars(sa.select(Customer).where(Customer.id_no == moved_id))
        assert [c.id for c in found] == [9]  # and the application's
    # every stored value is under the primary version (headers and token prefixes)
    staged.clear()
    again = jdbc_reencrypt(
        spark,
        spec,
        url=url,
        table="vk_customers",
        model=Customer,
        columns=COLUMNS,
        pk="id",
        on_staged=staged.append,
    )
    assert staged == [0] and again.rewritten == 0 and again.complete
    # the columns= form: the database's catalogue (configure recorded note as bound to the
    # primary key) resolves a bare bind_row="auto", and refuses a declaration contradicting it
    staged.clear()
    bare = {"note": Encrypted("customers.note")}
    by_catalog = jdbc_reencrypt(
        spark, spec, url=url, table="vk_customers", columns=bare, pk="id", on_staged=staged.append
    )
    assert staged == [0] and by_catalog.complete
    assert [(s.column, s.rows, s.stale) for s in by_catalog.final] == [("note", 150, 0)]
    with pytest.raises(RowBindingError, match=r"vk_customers\.note: the catalogue records it"):
        jdbc_reencrypt(
            spark,
            spec,
            url=url,
            table="vk_customers",
            columns={"note": Encrypted("customers.note", bind_row=False)},
            pk="id",
        )
    with pg.connect() as conn:
        assert not sa.inspect(conn).has_table("vk_customers_vk_staging")
    vault.close()
    ring.close()
