"""The same types under AsyncSession: aiosqlite, and psycopg 3 async on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from tests.ext._support import sample
from tests.ext.models import Base, Customer
from vaultkit.ext.sqlalchemy import configure
from vaultkit.vault import Vault


async def _scenario(url: str, vault: Vault) -> None:
    engine = create_async_engine(url, hide_parameters=True)
    configure(vault, Base, engine=engine)  # the batch paths, under the async driver
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    rows = [sample(i) for i in range(5)]
    try:
        async with sessions() as s:
            s.add_all(Customer(**r) for r in rows)
            await s.commit()
        async with sessions() as s:
            got = (await s.scalars(select(Customer).order_by(Customer.id))).all()
            assert [(c.name, c.balance, c.note, c.extra) for c in got] == [
                (r["name"], r["balance"], r["note"], r["extra"]) for r in rows
            ]
            hit = await s.scalars(select(Customer).where(Customer.id_no == rows[3]["id_no"]))
            assert [c.id for c in hit] == [3]
            cards = [rows[0]["card_no"], rows[4]["card_no"]]
            ids = await s.scalars(select(Customer.id).where(Customer.card_no.in_(cards)))
            assert sorted(ids) == [0, 4]
            got[1].note, got[1].id_no = "async note", rows[0]["id_no"]
            await s.commit()
        async with sessions() as s:
            streamed = await s.stream_scalars(select(Customer).order_by(Customer.id))
            assert [c.note async for c in streamed] == [
                "async note" if r["id"] == 1 else r["note"] for r in rows
            ]
            c = (await s.scalars(select(Customer).where(Customer.id == 1))).one()
            assert c.note == "async note"
            both = await s.scalars(select(Customer.id).where(Customer.id_no == rows[0]["id_no"]))
            assert sorted(both) == [0, 1]
            await s.delete(c)
            await s.commit()
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
        await engine.dispose()


def test_async_sqlite(tmp_path: Path, vault: Vault) -> None:
    asyncio.run(_scenario(f"sqlite+aiosqlite:///{tmp_path / 'async.sqlite'}", vault))


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["psycopg_async", "asyncpg"])
def test_async_postgres(postgres_url: str, vault: Vault, driver: str) -> None:
    url = postgres_url.replace("postgresql+psycopg://", f"postgresql+{driver}://")
    asyncio.run(_scenario(url, vault))
