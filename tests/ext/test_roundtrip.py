"""Round trip of every type, NULLs, bulk insert, update and delete, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, insert, select, update

from tests.ext._support import Db, sample
from tests.ext.models import Customer
from vaultkit.errors import VaultkitTypeError

FIELDS = [k for k in sample(0) if k != "id"]


def test_orm_round_trip_every_type(db: Db) -> None:
    rows = [sample(i) for i in range(3)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in rows)
        s.commit()
    with db.session() as s:
        got = s.scalars(select(Customer).order_by(Customer.id)).all()
        for c, r in zip(got, rows, strict=True):
            assert {k: getattr(c, k) for k in FIELDS} == {k: r[k] for k in FIELDS}


def test_core_select_decrypts(db: Db) -> None:
    r = sample(7)
    with db.session() as s:
        s.add(Customer(**r))
        s.commit()
    t = Customer.__table__
    with db.engine.connect() as conn:
        row = conn.execute(select(t.c.name, t.c.balance, t.c.extra, t.c.card_no)).one()
    assert tuple(row) == (r["name"], r["balance"], r["extra"], r["card_no"])


def test_nulls_both_ways(db: Db) -> None:
    with db.session() as s:
        s.add(Customer(id=1))
        s.commit()
    with db.session() as s:
        c = s.get(Customer, 1)
        assert c is not None
        assert all(getattr(c, k) is None for k in FIELDS)
        assert c.id_no_bidx is None and c.mobile_year is None
        assert s.scalars(select(Customer).where(Customer.id_no.is_(None))).one() is c
    with db.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT name, id_no, card_no, note FROM vk_customers").one()
    assert tuple(raw) == (None, None, None, None)


def test_bulk_insert_core_and_orm(db: Db) -> None:
    rows = [sample(i) for i in range(200)]
    with db.engine.begin() as conn:
        conn.execute(
            insert(Customer.__table__),
            [{k: v for k, v in r.items() if k != "note"} for r in rows[:100]],
        )
    with db.session() as s:
        s.execute(
            insert(Customer), [{k: v for k, v in r.items() if k != "note"} for r in rows[100:]]
        )
        s.commit()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 200
        assert s.scalar(select(func.count()).where(Customer.id_no_bidx.is_(None))) == 0
        for r in (rows[3], rows[150]):
            c = s.scalars(select(Customer).where(Customer.id_no == r["id_no"])).one()
            assert c.id == r["id"] and c.balance == r["balance"]


def test_update_recomputes_blind_index(db: Db) -> None:
    a, b = sample(1), sample(2)
    with db.session() as s:
        s.add(Customer(**a))
        s.commit()
    with db.session() as s:
        c = s.get(Customer, 1)
        assert c is not None
        c.id_no, c.note, c.balance = b["id_no"], "changed note", b["balance"]
        s.commit()
    with db.session() as s:
        assert s.scalars(select(Customer).where(Customer.id_no == a["id_no"])).all() == []
        c = s.scalars(select(Customer).where(Customer.id_no == b["id_no"])).one()
        assert (c.note, c.balance, c.name) == ("changed note", b["balance"], a["name"])
        c.plain = "only a plain column"  # no protected column changed: index untouched
        s.commit()
        assert s.scalars(select(Customer).where(Customer.id_no == b["id_no"])).one() is c


def test_core_update_statement(db: Db) -> None:
    with db.session() as s:
        s.add(Customer(**sample(1)))
        s.commit()
    with db.engine.begin() as conn:
        conn.execute(update(Customer.__table__).values(name="新名字", balance=None))
    with db.session() as s:
        c = s.get(Customer, 1)
        assert c is not None and (c.name, c.balance) == ("新名字", None)


def test_delete(db: Db) -> None:
    rows = [sample(i) for i in range(4)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in rows)
        s.commit()
    with db.session() as s:
        s.delete(s.scalars(select(Customer).where(Customer.id_no == rows[0]["id_no"])).one())
        s.execute(delete(Customer).where(Customer.card_no == rows[1]["card_no"]))
        s.commit()
        assert sorted(s.scalars(select(Customer.id))) == [2, 3]


def test_core_update_keeps_blind_indexes(db: Db) -> None:
    a, b, c = sample(1), sample(2), sample(3)
    with db.session() as s:
        s.add(Customer(**a))
        s.commit()
    t = Customer.__table__
    if db.kind == "sqlite-per-value":  # the engine events are what keeps Core UPDATEs right
        return
    with db.engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == 1).values(id_no=b["id_no"]))
    with db.session() as s:
        assert s.scalars(select(Customer.id).where(Customer.id_no == b["id_no"])).all() == [1]
    with db.engine.begin() as conn:  # sources given as parameters, compound index too
        conn.execute(
            update(t).where(t.c.id == 1),
            {"id_no": c["id_no"], "mobile": c["mobile"], "birth": c["birth"]},
        )
    with db.session() as s:
        assert s.scalars(select(Customer.id).where(Customer.id_no == c["id_no"])).all() == [1]
        hit = select(Customer.id).where(Customer.mobile_year.matches(c["mobile"], c["birth"]))
        assert s.scalars(hit).all() == [1]
    with db.engine.begin() as conn, pytest.raises(VaultkitTypeError, match="blind index"):
        conn.execute(update(t).values(mobile=b["mobile"]))  # birth unknown: refused
    with db.engine.begin() as conn:
        conn.execute(update(t).values(id_no=None))
        assert conn.execute(select(t.c.id_no_bidx)).scalar_one() is None


def test_orm_bulk_update_by_primary_key(db: Db) -> None:
    if db.kind == "sqlite-per-value":  # bulk UPDATEs fire no mapper events: the engine's do
        return
    rows = [sample(i) for i in range(3)]
    new = [sample(i + 10) for i in range(3)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in rows)
        s.commit()
        s.execute(
            update(Customer),
            [
                {"id": r["id"], "id_no": n["id_no"], "card_no": n["card_no"]}
                for r, n in zip(rows, new, strict=True)
            ],
        )
        s.commit()
    with db.session() as s:
        for r, n in zip(rows, new, strict=True):
            c = s.scalars(select(Customer).where(Customer.id_no == n["id_no"])).one()
            assert (c.id, c.card_no, c.name) == (r["id"], n["card_no"], r["name"])
            assert s.scalars(select(Customer).where(Customer.id_no == r["id_no"])).all() == []
