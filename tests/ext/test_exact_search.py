"""Blind-index search is exact: colliding rows (a 2-bit index: ~1/4 of the table shares each
index value) never come back from ==/IN, and DML that would act on them is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Integer, create_engine, delete, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, defer, mapped_column

from tests.ext._support import card_no, id_no
from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, Tokenized, configure
from vaultkit.vault import Vault

N = 40
BITS = 2  # below what blindindex.plan allows: collisions are certain


class CBase(DeclarativeBase):
    pass


class Person(CBase):
    """Unbound (the Core tests read it; a row-bound column needs its row key in a Core read)."""

    __tablename__ = "vk_collide"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    id_no = mapped_column(
        Encrypted("customers.id_no", kind="cn_id", searchable=True, bind_row=False)
    )
    id_no_bidx = mapped_column(
        BlindIndex("customers.id_no.bidx", source="id_no", bits=BITS), index=True
    )
    card_no = mapped_column(Tokenized("customers.card", format="card"))
    grp: Mapped[int] = mapped_column(Integer)


class Sealed(CBase):
    """A row-bound searchable column: the exact check opens it under its own row."""

    __tablename__ = "vk_collide_bound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    id_no = mapped_column(Encrypted("customers.id_no", searchable=True, bind_row=True))
    id_no_bidx = mapped_column(
        BlindIndex("customers.id_no.bidx", source="id_no", bits=BITS), index=True
    )


class Lazy(CBase):
    """The searched column deferred by the mapper: entities load without it."""

    __tablename__ = "vk_collide_lazy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    id_no = mapped_column(Encrypted("customers.id_no", searchable=True), deferred=True)
    id_no_bidx = mapped_column(
        BlindIndex("customers.id_no.bidx", source="id_no", bits=BITS), index=True
    )


def _people() -> list[dict]:
    import random

    out = []
    for i in range(N):
        rng = random.Random(1000 + i)
        out.append({"id": i, "id_no": id_no(rng), "card_no": card_no(rng), "grp": i % 3})
    out[N - 1]["id_no"] = out[0]["id_no"]  # a real duplicate: both rows must come back
    return out


PEOPLE = _people()


def _ids_with(value: str) -> list[int]:
    return sorted(p["id"] for p in PEOPLE if p["id_no"] == value)


@pytest.fixture(
    params=["sqlite", "sqlite-per-value", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path, vault: Vault) -> Iterator[object]:
    if request.param.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'collide.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    eng = create_engine(url, hide_parameters=True)
    configure(vault, CBase, engine=None if request.param == "sqlite-per-value" else eng)
    CBase.metadata.drop_all(eng)
    CBase.metadata.create_all(eng)
    with Session(eng) as s:
        s.add_all(Person(**p) for p in PEOPLE)
        s.add_all(Sealed(id=p["id"], id_no=p["id_no"]) for p in PEOPLE)
        s.add_all(Lazy(id=p["id"], id_no=p["id_no"]) for p in PEOPLE)
        s.commit()
    try:
        yield eng
    finally:
        CBase.metadata.drop_all(eng)
        eng.dispose()


def _candidates(s: Session, value: str) -> list[int]:
    stmt = select(Person.id).where(Person.id_no == value)
    return sorted(s.scalars(stmt.execution_options(vaultkit_candidates=True)))


def test_collisions_are_real(engine: object) -> None:
    with Session(engine) as s:  # type: ignore[arg-type]
        for p in PEOPLE[:5]:
            got = _candidates(s, p["id_no"])
            assert p["id"] in got and len(got) > len(_ids_with(p["id_no"]))


def test_orm_equality_exact(engine: object) -> None:
    target = PEOPLE[7]
    with Session(engine) as s:  # type: ignore[arg-type]
        stmt = select(Person).where(Person.id_no == target["id_no"])
        assert [p.id for p in s.scalars(stmt).all()] == [7]
        assert s.scalars(stmt).one().id == 7
        first = s.scalars(stmt).first()
        assert first is not None and first.id == 7
        assert [r.Person.id for r in s.execute(stmt)] == [7]
        dup = select(Person).where(Person.id_no == PEOPLE[0]["id_no"]).order_by(Person.id)
        assert [p.id for p in s.scalars(dup)] == [0, N - 1]
        none = select(Person).where(Person.id_no == "11010519491231002X")
        assert s.scalars(none).all() == []
        # the index's normalization (NFKC, surrounding white space): the filter agrees
        spaced = select(Person).where(Person.id_no == f"  {target['id_no']} ")
        assert [p.id for p in s.scalars(spaced)] == [7]


def test_orm_in_and_other_criteria(engine: object) -> None:
    wanted = [PEOPLE[i]["id_no"] for i in (2, 5, 11, 20)]
    with Session(engine) as s:  # type: ignore[arg-type]
        got = s.scalars(select(Person).where(Person.id_no.in_(wanted)))
        assert sorted(p.id for p in got) == [2, 5, 11, 20]
        both = s.scalars(select(Person).where(Person.id_no.in_(wanted), Person.grp == 2))
        assert sorted(p.id for p in both) == [i for i in (2, 5, 11, 20) if i % 3 == 2]
        rows = s.execute(select(Person, Person.grp).where(Person.id_no.in_(wanted))).all()
        assert sorted(r[0].id for r in rows) == [2, 5, 11, 20]


def test_statements_made_exact_before_they_run(engine: object) -> None:
    """Column selects, aggregates, OR/NOT, !=, LIMIT: exact through the probe."""
    target = PEOPLE[9]["id_no"]
    wanted = [PEOPLE[i]["id_no"] for i in (3, 4, 8, 30)]
    with Session(engine) as s:  # type: ignore[arg-type]
        assert s.scalars(select(Person.id).where(Person.id_no == target)).all() == [9]
        count = select(func.count()).select_from(Person).where(Person.id_no.in_(wanted))
        assert s.scalar(count) == 4
        either = select(Person.id).where(or_(Person.id_no == target, Person.id == 1))
        assert sorted(s.scalars(either)) == [1, 9]
        assert len(s.scalars(select(Person.id).where(Person.id_no != target)).all()) == N - 1
        assert len(s.scalars(select(Person.id).where(not_(Person.id_no == target))).all()) == (
            N - 1
        )
        assert len(s.scalars(select(Person.id).where(Person.id_no.not_in(wanted))).all()) == (N - 4)
        page = select(Person).where(Person.id_no.in_(wanted)).order_by(Person.id).limit(2)
        assert [p.id for p in s.scalars(page)] == [3, 4]
        assert [p.id for p in s.scalars(page.offset(2))] == [8, 30]
        a = aliased(Person)
        assert [p.id for p in s.scalars(select(a).where(a.id_no == target))] == [9]
        lazy = select(Person).options(defer(Person.id_no)).where(Person.id_no == target)
        assert [p.id for p in s.scalars(lazy)] == [9]
        sub = select(Person.id).where(Person.id_no.in_(wanted)).scalar_subquery()
        assert sorted(s.scalars(select(Person.id).where(Person.id.in_(sub)))) == [3, 4, 8, 30]


def test_row_bound_or_deferred_source(engine: object) -> None:
    target = PEOPLE[12]["id_no"]
    with Session(engine) as s:  # type: ignore[arg-type]
        assert [x.id for x in s.scalars(select(Lazy).where(Lazy.id_no == target))] == [12]
        assert [x.id for x in s.scalars(select(Sealed).where(Sealed.id_no == target))] == [12]
        assert s.scalars(select(Sealed.id).where(Sealed.id_no == target)).all() == [12]


def test_core_select_exact(engine: object) -> None:
    t = Person.__table__
    target = PEOPLE[6]
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(select(t).where(t.c.id_no == target["id_no"])).all()
        assert [(r.id, r.id_no) for r in rows] == [(6, target["id_no"])]
        assert conn.execute(select(t.c.id).where(t.c.id_no == target["id_no"])).all() == [(6,)]
        opted = select(t.c.id).where(t.c.id_no == target["id_no"])
        got = conn.execute(opted, execution_options={"vaultkit_candidates": True}).all()
        assert len(got) > 1


def test_compound_selects_exact(engine: object) -> None:
    """UNION/INTERSECT/EXCEPT are CompoundSelects, not Selects: made exact too."""
    from sqlalchemy import except_, intersect, union, union_all

    a, b = PEOPLE[7]["id_no"], PEOPLE[8]["id_no"]
    with_a = select(Person.id).where(Person.id_no == a)
    with_b = select(Person.id).where(Person.id_no == b)
    everyone = select(Person.id)
    with Session(engine) as s:  # type: ignore[arg-type]
        assert sorted(s.scalars(union_all(with_a, with_b))) == [7, 8]
        assert sorted(s.scalars(union(with_a, with_b, with_a))) == [7, 8]
        assert list(s.scalars(intersect(everyone, with_a))) == [7]
        assert sorted(s.scalars(except_(everyone, with_a))) == [i for i in range(N) if i != 7]
    with engine.connect() as conn:  # type: ignore[attr-defined]
        assert sorted(conn.execute(union_all(with_a, with_b)).scalars()) == [7, 8]


def test_insert_values_from_a_scalar_subquery_exact(engine: object) -> None:
    """INSERT ... VALUES ((SELECT ... WHERE id_no = x)) takes the matching row, not the
    first candidate."""
    from sqlalchemy import Column, MetaData, Table, insert

    md = MetaData()
    picked = Table("vk_picked", md, Column("id", Integer, primary_key=True), Column("pid", Integer))
    md.create_all(engine)  # type: ignore[arg-type]
    try:
        subquery = select(Person.id).where(Person.id_no == PEOPLE[7]["id_no"]).scalar_subquery()
        with engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(insert(picked).values(id=1, pid=subquery))
            assert conn.execute(select(picked.c.pid)).scalar_one() == 7
    finally:
        md.drop_all(engine)  # type: ignore[arg-type]


def test_opt_in_returns_candidates(engine: object) -> None:
    target = PEOPLE[7]["id_no"]
    with Session(engine) as s:  # type: ignore[arg-type]
        stmt = select(Person).where(Person.id_no == target)
        got = s.scalars(stmt.execution_options(vaultkit_candidates=True)).all()
        assert 7 in [p.id for p in got] and len(got) == len(_candidates(s, target)) > 1
        got2 = s.scalars(stmt, execution_options={"vaultkit_candidates": True}).all()
        assert len(got2) == len(got)


def _count(engine: object) -> int:
    with Session(engine) as s:  # type: ignore[arg-type]
        return s.scalar(select(func.count()).select_from(Person)) or 0


def test_dml_refused(engine: object) -> None:
    target = PEOPLE[7]["id_no"]
    t = Person.__table__
    with Session(engine) as s:  # type: ignore[arg-type]
        with pytest.raises(VaultkitTypeError, match="select the rows, then delete/update"):
            s.execute(delete(Person).where(Person.id_no == target))
        with pytest.raises(VaultkitTypeError, match="candidate rows"):
            s.execute(update(Person).where(Person.id_no.in_([target])).values(grp=9))
        with pytest.raises(VaultkitTypeError, match="candidate rows"):
            s.execute(delete(Person).where(or_(Person.id == 1, Person.id_no == target)))
        s.commit()
    with engine.begin() as conn:  # type: ignore[attr-defined]
        with pytest.raises(VaultkitTypeError, match="candidate rows"):
            conn.execute(delete(t).where(t.c.id_no == target))
        with pytest.raises(VaultkitTypeError, match="candidate rows"):
            conn.execute(update(t).where(t.c.id_no == target).values(grp=9))
    assert _count(engine) == N
    with Session(engine) as s:  # type: ignore[arg-type]
        assert s.scalar(select(func.count()).where(Person.grp == 9)) == 0


def test_dml_by_token_or_key_allowed(engine: object) -> None:
    with Session(engine) as s:  # type: ignore[arg-type]
        s.execute(delete(Person).where(Person.card_no == PEOPLE[3]["card_no"]))
        ids = s.scalars(select(Person.id).where(Person.id_no == PEOPLE[5]["id_no"])).all()
        s.execute(delete(Person).where(Person.id.in_(ids)))  # the documented way
        s.commit()
    assert _count(engine) == N - 2


def test_dml_opt_in_acts_on_candidates(engine: object) -> None:
    target = PEOPLE[7]["id_no"]
    with Session(engine) as s:  # type: ignore[arg-type]
        n = len(_candidates(s, target))
        stmt = delete(Person).where(Person.id_no == target)
        s.execute(stmt.execution_options(vaultkit_candidates=True))
        s.commit()
    assert _count(engine) == N - n


async def _async_scenario(url: str, vault: Vault) -> None:
    eng = create_async_engine(url, hide_parameters=True)
    configure(vault, CBase, engine=eng)
    async with eng.begin() as conn:
        await conn.run_sync(CBase.metadata.drop_all)
        await conn.run_sync(CBase.metadata.create_all)
    sessions = async_sessionmaker(eng, expire_on_commit=False)
    try:
        async with sessions() as s:
            s.add_all(Person(**p) for p in PEOPLE)
            await s.commit()
        async with sessions() as s:
            target = PEOPLE[7]["id_no"]
            got = (await s.scalars(select(Person).where(Person.id_no == target))).all()
            assert [p.id for p in got] == [7]
            wanted = [PEOPLE[i]["id_no"] for i in (2, 5)]
            got = (await s.scalars(select(Person).where(Person.id_no.in_(wanted)))).all()
            assert sorted(p.id for p in got) == [2, 5]
            ids = (await s.scalars(select(Person.id).where(Person.id_no == target))).all()
            assert ids == [7]
            streamed = await s.stream_scalars(select(Person).where(Person.id_no == target))
            assert [p.id async for p in streamed] == [7]
            opted = select(Person).where(Person.id_no == target)
            many = (await s.scalars(opted.execution_options(vaultkit_candidates=True))).all()
            assert len(many) > 1
            with pytest.raises(VaultkitTypeError, match="candidate rows"):
                await s.execute(delete(Person).where(Person.id_no == target))
            await s.rollback()
        async with sessions() as s:
            assert await s.scalar(select(func.count()).select_from(Person)) == N
    finally:
        async with eng.begin() as conn:
            await conn.run_sync(CBase.metadata.drop_all)
        await eng.dispose()


def test_async_sqlite(tmp_path: Path, vault: Vault) -> None:
    asyncio.run(_async_scenario(f"sqlite+aiosqlite:///{tmp_path / 'async.sqlite'}", vault))


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["psycopg_async", "asyncpg"])
def test_async_postgres(postgres_url: str, vault: Vault, driver: str) -> None:
    url = postgres_url.replace("postgresql+psycopg://", f"postgresql+{driver}://")
    asyncio.run(_async_scenario(url, vault))


def test_legacy_query(engine: object) -> None:
    target = PEOPLE[7]["id_no"]
    with Session(engine) as s:  # type: ignore[arg-type]
        q = s.query(Person).filter(Person.id_no == target)
        assert [p.id for p in q.all()] == [7]
        first = q.first()
        assert first is not None and first.id == 7
        assert q.count() == 1
        with pytest.raises(VaultkitTypeError, match="candidate rows"):
            q.delete()
        s.rollback()
    assert _count(engine) == N


def test_statements_without_comparisons_are_not_walked(
    engine: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process-wide listeners look at a statement's memoized cache key, not at every one of
    its elements, unless it holds a blind-index comparison (engines vaultkit never saw too)."""
    from sqlalchemy import Column, MetaData, Table

    from vaultkit.ext.sqlalchemy import _search

    walked: list[object] = []
    real = _search.visitors.iterate

    def counting(stmt: object, *args: object, **kwargs: object) -> object:
        walked.append(stmt)
        return real(stmt, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_search.visitors, "iterate", counting)
    other = create_engine(f"sqlite:///{tmp_path / 'other.sqlite'}")  # not configured
    plain = Table("plain", MetaData(), Column("id", Integer, primary_key=True))
    plain.metadata.create_all(other)
    with other.connect() as conn:
        assert conn.execute(select(plain).where(plain.c.id == 1)).all() == []
    other.dispose()
    with Session(engine) as s:  # type: ignore[arg-type]
        assert s.scalars(select(Person).where(Person.grp == 1)).all()
    assert walked == []
    with Session(engine) as s:  # type: ignore[arg-type]
        stmt = select(Person).where(Person.id_no == PEOPLE[7]["id_no"])
        assert [p.id for p in s.scalars(stmt)] == [7]
    assert walked
