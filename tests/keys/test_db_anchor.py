"""The database rollback anchor (issue 12): ``vaultkit_keyring_anchor`` in the application
database, on the real PostgreSQL and on SQLite. A copy of yesterday's store put back is
refused; concurrent writers (real processes) only ever advance the counter."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from vaultkit.errors import KeyStoreError
from vaultkit.keys import Anchor, DatabaseAnchor, KeyRing

from .conftest import local_kms


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS vaultkit_keyring_anchor"))
    engine.dispose()
    yield url


def _put_back(path: Path, old: bytes) -> None:
    path.write_bytes(old)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1000))  # a new stamp: readers reload


def test_yesterdays_store_put_back_is_refused(db_url: str, ring_path: Path) -> None:
    engine = sa.create_engine(db_url)
    anchor = DatabaseAnchor(engine)
    assert isinstance(anchor, Anchor)
    ring = KeyRing.create(ring_path, local_kms(), anchor=anchor)
    ring.create_key("k")
    yesterday = ring_path.read_bytes()
    ring.rotate_key("k")
    ring.retire_version("k", 1)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT ring_id, generation, updated FROM vaultkit_keyring_anchor")
        ).one()
    assert (row.ring_id, row.generation) == (ring.ring_id, ring.store_generation)
    assert row.updated is not None
    ring.close()
    _put_back(ring_path, yesterday)
    with pytest.raises(KeyStoreError, match="rolled back"):
        KeyRing.open(ring_path, local_kms(), anchor=DatabaseAnchor(engine))
    KeyRing.open(ring_path, local_kms()).close()  # without the anchor it opens (documented)
    engine.dispose()


def test_advance_never_lowers(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    anchor = DatabaseAnchor(engine)
    assert anchor.read("ab" * 16) is None
    anchor.advance("ab" * 16, 5)
    anchor.advance("ab" * 16, 3)
    assert anchor.read("ab" * 16) == 5
    anchor.advance("ab" * 16, 9)
    assert anchor.read("ab" * 16) == 9
    assert anchor.read("cd" * 16) is None
    engine.dispose()


def _advance_many(url: str, ring_id: str, values: list[int]) -> None:
    engine = sa.create_engine(url)
    anchor = DatabaseAnchor(engine)
    for v in values:
        anchor.advance(ring_id, v)
    engine.dispose()


@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_concurrent_writers_advance_safely(db_url: str, start: str) -> None:
    """Four processes advance the same ring's counter in interleaved orders (each also tries
    lower values after higher ones); the counter ends at the highest value ever written."""
    ring_id = "ef" * 16
    DatabaseAnchor(sa.create_engine(db_url))  # the table, before the race on creating it
    ctx = multiprocessing.get_context(start)
    plans = [[*range(i, 200, 4), 1, 2, 3] for i in range(4)]
    workers = [ctx.Process(target=_advance_many, args=(db_url, ring_id, p)) for p in plans]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    engine = sa.create_engine(db_url)
    assert DatabaseAnchor(engine).read(ring_id) == max(max(p) for p in plans)
    engine.dispose()
