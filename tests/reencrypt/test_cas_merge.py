"""The set-based compare-and-set merge of a staging table (``_cas.column_merge`` and
``_cas.index_merge``, used by Spark's ``jdbc_reencrypt``) on SQLite and the real PostgreSQL: a
row the application changed after it was staged keeps the application's value, the counts are
exact, a NULL old index matches NULL-safely, and only the chunk's key range is touched."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from vaultkit.reencrypt import _cas

ROWS = 12


def _tables(md: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    target = sa.Table(
        "vk_merge_target",
        md,
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("c", sa.LargeBinary),
        sa.Column("src", sa.Text),
        sa.Column("ix", sa.Text),
    )
    # as Spark's JDBC writer makes it: no primary key, the old and the new value side by side
    stage = sa.Table(
        "vk_merge_stage",
        md,
        sa.Column("id", sa.BigInteger),
        sa.Column("src", sa.Text),
        sa.Column("c", sa.LargeBinary),
        sa.Column("c_new", sa.LargeBinary),
        sa.Column("ix", sa.Text),
        sa.Column("ix_new", sa.Text),
    )
    return target, stage


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        if sqlite3.sqlite_version_info < (3, 33):
            pytest.fail(f"SQLite {sqlite3.sqlite_version} has no UPDATE ... FROM (3.33)")
        url = f"sqlite:///{tmp_path / 'merge.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    e = sa.create_engine(url, hide_parameters=True)
    md = sa.MetaData()
    _tables(md)
    md.drop_all(e)
    md.create_all(e)
    yield e
    md.drop_all(e)
    e.dispose()


def _populate(engine: sa.Engine, target: sa.Table, stage: sa.Table) -> None:
    """Every row staged with a new value and a new index, except row 4 (c current) and row 11
    (index current); row 6's index was NULL when staged."""
    old = [
        {"id": i, "c": b"old%d" % i, "src": f"s{i}", "ix": None if i == 6 else f"ix{i}"}
        for i in range(1, ROWS + 1)
    ]
    staged = [
        {
            **r,
            "c_new": None if r["id"] == 4 else b"new%d" % r["id"],
            "ix_new": None if r["id"] == 11 else f"nx{r['id']}",
        }
        for r in old
    ]
    with engine.begin() as conn:
        conn.execute(target.insert(), old)
        conn.execute(stage.insert(), staged)


def _merge(
    engine: sa.Engine, target: sa.Table, stage: sa.Table, first: int, last: int
) -> tuple[int, int]:
    d = engine.dialect
    bounds = {"vk_first": first, "vk_last": last}
    with engine.begin() as conn:
        ix = _cas.execute_one(
            conn, _cas.index_merge(target, stage, "id", ["src"], "ix", "ix_new", d), bounds
        )
        c = _cas.execute_one(conn, _cas.column_merge(target, stage, "id", "c", "c_new", d), bounds)
    return ix, c


def test_the_application_write_wins_and_counts_are_exact(engine: sa.Engine) -> None:
    target, stage = _tables(sa.MetaData())
    _populate(engine, target, stage)
    with engine.begin() as conn:  # the application, after staging
        conn.execute(target.update().where(target.c.id == 3).values(c=b"application"))
        conn.execute(target.update().where(target.c.id == 5).values(src="changed", ix="app-ix"))
        conn.execute(target.update().where(target.c.id == 7).values(c=None))
    ix, c = _merge(engine, target, stage, 1, 8)
    # rows 1-8: 8 staged indexes, row 5's source changed; 7 staged values (not 4), 3 and 7 changed
    assert (ix, c) == (7, 5)
    with engine.connect() as conn:
        got = {r.id: r for r in conn.execute(sa.select(target))}
    assert got[3].c == b"application" and got[7].c is None  # the application's values
    assert (got[5].src, got[5].ix) == ("changed", "app-ix")
    assert got[6].ix == "nx6"  # NULL old index matched NULL-safely
    assert got[4].c == b"old4" and got[4].ix == "nx4"  # nothing staged for its value
    for i in (1, 2, 8):
        assert (got[i].c, got[i].ix) == (b"new%d" % i, f"nx{i}")
    for i in range(9, ROWS + 1):  # outside the chunk: untouched
        assert (got[i].c, got[i].ix) == (b"old%d" % i, f"ix{i}")
    # the next chunk; then a rerun of both merges the rows already merged: 0 updates
    assert _merge(engine, target, stage, 9, ROWS) == (3, 4)
    assert _merge(engine, target, stage, 1, ROWS) == (0, 0)


@pytest.mark.postgres
def test_a_write_in_flight_during_the_merge_wins(postgres_url: str) -> None:
    """PostgreSQL, READ COMMITTED: the application holds row 2 (its UPDATE uncommitted) when
    the merge starts; the merge waits for it and re-checks the row's new version, so the
    application's value stays and the merge counts one row fewer."""
    engine = sa.create_engine(postgres_url, hide_parameters=True)
    md = sa.MetaData()
    target, stage = _tables(md)
    md.drop_all(engine)
    md.create_all(engine)
    try:
        _populate(engine, target, stage)
        app = engine.connect()
        app.begin()
        app.execute(target.update().where(target.c.id == 2).values(c=b"in flight"))
        waited: list[float] = []

        def commit_later() -> None:
            time.sleep(1.0)
            waited.append(time.monotonic())
            app.commit()

        t = threading.Thread(target=commit_later)
        t.start()
        ix, c = _merge(engine, target, stage, 1, ROWS)
        done = time.monotonic()
        t.join()
        app.close()
        assert waited and done >= waited[0]  # the merge waited for the application's commit
        assert (ix, c) == (ROWS - 1, ROWS - 2)  # row 11's index and row 4's value not staged
        with engine.connect() as conn:
            got = {r.id: r for r in conn.execute(sa.select(target))}
        assert got[2].c == b"in flight" and got[2].ix == "nx2"
        assert got[1].c == b"new1"
    finally:
        md.drop_all(engine)
        engine.dispose()
