"""Equality and IN search through blind indexes and tokens; queries never decrypt the table."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.ext._support import Db, sample
from tests.ext.models import Customer
from vaultkit.errors import VaultkitTypeError

N = 30


@pytest.fixture
def rows(db: Db) -> list[dict]:
    rows = [sample(i) for i in range(N)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in rows)
        s.commit()
    return rows


def _sql(stmt: object, db: Db) -> str:
    return str(stmt.compile(db.engine))  # type: ignore[attr-defined]


def test_equality_uses_blind_index(db: Db, rows: list[dict]) -> None:
    stmt = select(Customer).where(Customer.id_no == rows[5]["id_no"])
    sql = _sql(stmt, db)
    assert "id_no_bidx IN" in sql and "vk_customers.id_no =" not in sql
    with db.session() as s:
        assert [c.id for c in s.scalars(stmt)] == [5]
        assert s.scalars(select(Customer).where(Customer.id_no == "110105194912310021")).all() == []


def test_in_and_not_in(db: Db, rows: list[dict]) -> None:
    wanted = [rows[i]["id_no"] for i in (1, 4, 9)]
    with db.session() as s:
        got = s.scalars(select(Customer.id).where(Customer.id_no.in_(wanted)))
        assert sorted(got) == [1, 4, 9]
        rest = s.scalars(select(Customer.id).where(Customer.id_no.not_in(wanted)))
        assert len(list(rest)) == N - 3
        assert s.scalars(select(Customer.id).where(Customer.id_no != rows[0]["id_no"])).all()


def test_core_table_search(db: Db, rows: list[dict]) -> None:
    t = Customer.__table__
    with db.engine.connect() as conn:
        got = conn.execute(select(t.c.id, t.c.name).where(t.c.id_no == rows[3]["id_no"])).one()
    assert tuple(got) == (3, rows[3]["name"])


def test_token_equality_and_in(db: Db, rows: list[dict]) -> None:
    stmt = select(Customer.id).where(Customer.card_no == rows[2]["card_no"])
    assert "card_no IN" in _sql(stmt, db)
    with db.session() as s:
        assert s.scalars(stmt).all() == [2]
        cards = [rows[i]["card_no"] for i in (0, 7)]
        assert sorted(s.scalars(select(Customer.id).where(Customer.card_no.in_(cards)))) == [0, 7]


def test_compound_blind_index(db: Db, rows: list[dict]) -> None:
    r = rows[11]

    def key(x: dict) -> tuple[str, int]:
        return (x["mobile"][-4:], x["birth"].year)

    with db.session() as s:
        got = s.scalars(
            select(Customer.id).where(Customer.mobile_year.matches(r["mobile"], r["birth"]))
        ).all()
    # 16 bits collide by design; the results are exact: same last 4 digits and birth year
    same = [x["id"] for x in rows if (x["mobile"][-4:], x["birth"].year) == key(r)]
    assert sorted(got) == same and 11 in got
    with db.session() as s:  # entities: filtered after loading (the ORM path)
        stmt = select(Customer).where(Customer.mobile_year.matches(r["mobile"], r["birth"]))
        assert sorted(c.id for c in s.scalars(stmt)) == same


def test_refused_comparisons(db: Db, rows: list[dict]) -> None:
    with pytest.raises(VaultkitTypeError, match="only =="):
        Customer.id_no < "1"
    with pytest.raises(VaultkitTypeError, match="only =="):
        Customer.name.like("张%")
    with pytest.raises(VaultkitTypeError, match="not searchable"):
        Customer.name == "张三"
    with pytest.raises(VaultkitTypeError, match="Python values"):
        Customer.id_no.in_([Customer.plain])
