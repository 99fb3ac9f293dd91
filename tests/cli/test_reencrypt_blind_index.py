"""Issue 11, defect 2 (b, c): after a blind-index key rotation, `vaultkit reencrypt` rebuilds the
index under the primary version, and `key retire/destroy --db` count rows still under a version
in encrypted, token and blind-index columns (the catalogue). Real console script, SQLite and
PostgreSQL, rows written through the ORM."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from tests.cli._protected import (
    BIDX_KEY,
    BITS,
    CARD_KEY,
    ID_KEY,
    TABLE,
    card_no,
    db_url,
    new_ring,
    populate,
    search_all,
)
from tests.cli._run import env_for, fails, ok, vk

__all__ = ["db_url"]  # the fixture

N = 120


def _index_column(url: str) -> list[bytes]:
    engine = sa.create_engine(url, hide_parameters=True)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT id_no_bidx FROM {TABLE} ORDER BY id").all()
    engine.dispose()
    return [bytes(r[0]) for r in rows]


def test_rotated_index_is_rebuilt_then_its_old_version_retires(tmp_path: Path, db_url: str) -> None:
    ring = tmp_path / "ring.vk"
    env = new_ring(ring)
    populate(ring, db_url, N)
    before = _index_column(db_url)
    ok(vk("key", "rotate", BIDX_KEY, env=env))

    # defect 2 (c): every row is indexed under v1, so v1 cannot be retired
    fails(
        vk("key", "retire", BIDX_KEY, "--version", "1", "--db", db_url, "--yes", env=env),
        f"{N} values are still under it ({TABLE}.id_no_bidx: {N})",
    )
    # dry run: counts the stale indexes, changes nothing
    dry = json.loads(
        ok(vk("reencrypt", "--db", db_url, "--table", TABLE, "--blind-index",
              f"id_no:id_no_bidx:{BIDX_KEY}", "--dry-run", "--json", env=env))
    )  # fmt: skip
    (index,) = dry["columns"]
    assert index["column"] == "id_no_bidx" and index["stale"] == N
    assert index["by_version"] == [{"key": BIDX_KEY, "version": 1, "count": N}]
    assert _index_column(db_url) == before

    # defect 2 (b): rebuilt under v2 (BITS from the catalogue configure() wrote)
    spec = f"id_no:id_no_bidx:{BIDX_KEY}"
    args = ("reencrypt", "--db", db_url, "--table", TABLE,
            "--blind-index", spec, "--batch-size", "50", "--json")  # fmt: skip
    done = json.loads(ok(vk(*args, env=env)))
    assert done["complete"] and done["rewritten"] == N
    assert done["columns"][0]["by_version"] == [{"key": BIDX_KEY, "version": 2, "count": N}]
    after = _index_column(db_url)
    # (exactness is the survey's by_version above and the v2-only search below: a 16-bit index
    # under v1 and v2 may coincide for some rows by chance)
    assert all(len(ix) == BITS // 8 for ix in after) and after != before
    assert json.loads(ok(vk(*args, env=env)))["rewritten"] == 0  # a rerun does nothing

    ok(vk("key", "retire", BIDX_KEY, "--version", "1", "--db", db_url, "--yes", env=env))
    # the ORM search (now only under v2) finds every customer
    found = search_all(ring, db_url, N)
    assert all(len(rows) == 1 for rows in found.values()), "a customer is no longer found"


def test_token_and_index_versions_block_retire_and_destroy(tmp_path: Path, db_url: str) -> None:
    ring = tmp_path / "ring.vk"
    env = new_ring(ring)
    populate(ring, db_url, 30)
    ok(vk("key", "rotate", CARD_KEY, env=env))
    # tokens carry their version; the catalogue says which key they are under
    fails(
        vk("key", "retire", CARD_KEY, "--version", "1", "--db", db_url, "--yes", env=env),
        f"30 values are still under it ({TABLE}.card_no: 30)",
    )
    ok(vk("reencrypt", "--db", db_url, "--table", TABLE, "--column", "card_no",
          "--format", "card_no", "--key", CARD_KEY, env=env))  # fmt: skip
    ok(vk("key", "retire", CARD_KEY, "--version", "1", "--db", db_url, "--yes", env=env))
    # --force: the version was retired just now (no process holds it in this test)
    ok(vk("key", "destroy", CARD_KEY, "--version", "1", "--db", db_url, "--yes", "--force",
          env=env))  # fmt: skip
    found = search_all(ring, db_url, 30)
    assert [rows[0][1] for rows in found.values()] == [card_no(i) for i in range(1, 31)]

    # destroy checks too: a retired index version whose rows were never rebuilt
    ok(vk("key", "rotate", BIDX_KEY, env=env))
    proc = vk("key", "retire", BIDX_KEY, "--version", "1", "--db", db_url, "--yes", env=env)
    assert proc.returncode != 0
    ok(vk("key", "retire", BIDX_KEY, "--version", "1", "--yes", env=env))  # no --db: unchecked
    fails(
        vk("key", "destroy", BIDX_KEY, "--version", "1", "--db", db_url, "--yes", env=env),
        f"refusing to destroy {BIDX_KEY} v1: 30 values are still under it",
    )
    # and the database is checked by default when VAULTKIT_DB_URL is set
    fails(
        vk("key", "destroy", BIDX_KEY, "--version", "1", "--yes",
           env=env_for(ring, VAULTKIT_DB_URL=db_url)),
        f"refusing to destroy {BIDX_KEY} v1",
    )  # fmt: skip


def test_says_plainly_what_it_could_not_check(tmp_path: Path, db_url: str) -> None:
    ring = tmp_path / "ring.vk"
    env = new_ring(ring)
    populate(ring, db_url, 5, catalogue=False)
    ok(vk("key", "rotate", ID_KEY, env=env))
    ok(vk("key", "rotate", CARD_KEY, env=env))
    proc = vk("key", "retire", CARD_KEY, "--version", "1", "--yes", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "not checked: no database URL" in proc.stderr
    proc = vk("key", "retire", ID_KEY, "--version", "2", "--db", db_url, "--yes", env=env)
    assert proc.returncode != 0  # v2 is primary: refused by the key ring
    fails(
        vk("key", "retire", ID_KEY, "--version", "1", "--db", db_url, "--yes", env=env),
        f"5 values are still under it ({TABLE}.id_no: 5)",
    )
    assert "not checked: token and blind-index columns: the database has no vaultkit_columns" in (
        vk("key", "retire", ID_KEY, "--version", "1", "--db", db_url, "--yes", env=env).stderr
    )


def test_names_a_token_column_the_catalogue_misses(tmp_path: Path, db_url: str) -> None:
    ring = tmp_path / "ring.vk"
    env = new_ring(ring)
    populate(ring, db_url, 5)
    engine = sa.create_engine(db_url, hide_parameters=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM vaultkit_columns WHERE column_name = 'card_no'")
    engine.dispose()
    ok(vk("key", "rotate", CARD_KEY, env=env))
    proc = vk("key", "retire", CARD_KEY, "--version", "1", "--db", db_url, "--yes", env=env)
    assert proc.returncode == 0, proc.stderr
    assert (
        f"not checked: {TABLE}.card_no: holds values shaped like stored tokens but is not in "
        "the catalogue" in proc.stderr
    )
