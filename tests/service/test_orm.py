"""The ext.sqlalchemy core cases against a RemoteVault (insert, search, update, rotation while
running) on SQLite and the PostgreSQL fixture; the ORM's batch paths send one request per batch."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, insert, select

from tests.ext._support import Db, sample
from tests.ext.models import KEYS, Base, Customer
from tests.service.conftest import Server, open_ring
from vaultkit import envelope
from vaultkit.ext.sqlalchemy import configure
from vaultkit.remote import RemoteVault

FIELDS = [k for k in sample(0) if k != "id"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path, remote: RemoteVault) -> Iterator[Db]:
    path = None
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite"
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine(url, hide_parameters=True)
    configure(remote, Base, engine=engine)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        yield Db(request.param, url, engine, path)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


def _requests(server: Server) -> dict[str, int]:
    """Answered requests of the principal app, by operation."""
    text = httpx.get(server.url + "/metrics").text
    out: dict[str, int] = {}
    for op, n in re.findall(
        r'vaultkit_requests_total\{principal="app",operation="(\w+)",status="200"\} (\d+)', text
    ):
        out[op] = int(n)
    return out


def test_insert_select_every_type(db: Db) -> None:
    rows = [sample(i) for i in range(3)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in rows)
        s.commit()
    with db.session() as s:
        got = s.scalars(select(Customer).order_by(Customer.id)).all()
        for c, r in zip(got, rows, strict=True):
            assert {k: getattr(c, k) for k in FIELDS} == {k: r[k] for k in FIELDS}


def test_batch_paths_send_one_request_per_batch(db: Db, server: Server) -> None:
    rows = [sample(i) for i in range(200)]
    before = _requests(server)
    with db.engine.begin() as conn:
        conn.execute(
            insert(Customer.__table__), [{k: v for k, v in r.items() if k != "note"} for r in rows]
        )
    inserted = _requests(server)
    # one encrypt_many per encrypted column, one tokenize_many, the blind indexes in batches
    assert inserted.get("encrypt", 0) == before.get("encrypt", 0)
    assert inserted.get("tokenize", 0) == before.get("tokenize", 0)
    assert inserted.get("encrypt_batch", 0) - before.get("encrypt_batch", 0) == 9
    assert inserted.get("tokenize_batch", 0) - before.get("tokenize_batch", 0) == 1
    with db.engine.connect() as conn:
        got = conn.execute(select(Customer.__table__.c.name, Customer.__table__.c.card_no)).all()
    assert sorted(tuple(g) for g in got) == sorted((r["name"], r["card_no"]) for r in rows)
    read = _requests(server)
    assert read.get("decrypt", 0) == inserted.get("decrypt", 0)  # no per-value decrypt
    assert read.get("decrypt_batch", 0) - inserted.get("decrypt_batch", 0) == 1
    assert read.get("detokenize_batch", 0) - inserted.get("detokenize_batch", 0) == 1


def test_search_and_update(db: Db) -> None:
    rows = [sample(i) for i in range(10)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in rows)
        s.commit()
    with db.session() as s:
        r = rows[3]
        assert s.scalars(select(Customer.id).where(Customer.id_no == r["id_no"])).one() == 3
        assert s.scalars(select(Customer.id).where(Customer.card_no == r["card_no"])).one() == 3
        ids = [rows[1]["id_no"], rows[7]["id_no"]]
        assert sorted(s.scalars(select(Customer.id).where(Customer.id_no.in_(ids)))) == [1, 7]
        found = s.scalars(
            select(Customer.id).where(Customer.mobile_year.matches(r["mobile"], r["birth"]))
        ).all()
        assert 3 in found
        c = s.get(Customer, 3)
        assert c is not None
        c.id_no, c.name = rows[9]["id_no"], "改名"
        s.commit()
    with db.session() as s:
        assert sorted(s.scalars(select(Customer.id).where(Customer.id_no == rows[9]["id_no"]))) == [
            3,
            9,
        ]
        assert s.get(Customer, 3).name == "改名"  # type: ignore[union-attr]


def test_rotation_while_running(db: Db, remote: RemoteVault, ring_path: Path) -> None:
    old = [sample(i) for i in range(5)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in old)
        s.commit()
    operator = open_ring(ring_path)  # as `vaultkit key rotate` in another process
    for name in KEYS:
        assert operator.rotate_key(name) == 2
    operator.close()
    deadline = time.monotonic() + 30
    while any(remote.keys.primary_key(name).version != 2 for name in KEYS):
        # polled: the service re-reads the ring within 0.25 s, the client its metadata too
        assert time.monotonic() < deadline
    new = [sample(i) for i in range(5, 10)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in new)
        s.commit()
    with db.engine.connect() as conn:
        raw = dict(conn.exec_driver_sql("SELECT id, name FROM vk_customers").all())
        cards = dict(conn.exec_driver_sql("SELECT id, card_no FROM vk_customers").all())
    assert {i: envelope.inspect(bytes(raw[i])).version for i in raw} == {
        i: 1 if i < 5 else 2 for i in range(10)
    }
    assert {i: cards[i].split(":")[0] for i in cards} == {
        i: "1" if i < 5 else "2" for i in range(10)
    }
    with db.session() as s:
        got = s.scalars(select(Customer).order_by(Customer.id)).all()
        assert [c.name for c in got] == [r["name"] for r in old + new]
        for r in (old[1], new[2]):
            assert (
                s.scalars(select(Customer.id).where(Customer.id_no == r["id_no"])).one() == r["id"]
            )
            assert (
                s.scalars(select(Customer.id).where(Customer.card_no == r["card_no"])).one()
                == r["id"]
            )
