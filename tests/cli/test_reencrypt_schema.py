"""Issue 11 defect 6 (reencrypt side) and issue 12 ("re-encryption without limits"): a
schema-qualified table and a composite primary key, written by the ORM, re-encrypted by the
CLI (or the engine, for SQLite's attached database) and read back by the ORM: the contexts of
both doors are the same (``vaultkit.columns.table_name``, ``row_key``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tests.cli._protected import ID_KEY, NOTE_KEY, db_url, id_no, new_ring, open_vault
from tests.cli._run import fails, ok, vk
from vaultkit import envelope
from vaultkit.ext.sqlalchemy import Encrypted, configure
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.reencrypt import Reencryptor

__all__ = ["db_url"]  # the fixture

N = 90


class Base(DeclarativeBase):
    pass


class Kyc(Base):
    __tablename__ = "kyc"
    __table_args__ = {"schema": "core"}  # noqa: RUF012 - SQLAlchemy reads it

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    id_no = mapped_column(Encrypted(ID_KEY))
    note = mapped_column(Encrypted(NOTE_KEY, storage="text", bind_row=True))


class Account(Base):
    __tablename__ = "accounts"

    branch: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    id_no = mapped_column(Encrypted(ID_KEY))
    note = mapped_column(Encrypted(NOTE_KEY, storage="text", bind_row=True))


def _engine(url: str, core: Path | None) -> sa.Engine:
    engine = sa.create_engine(url, hide_parameters=True)
    if core is not None:  # SQLite: the schema is an attached database named core

        @sa.event.listens_for(engine, "connect")
        def attach(dbapi: object, _: object) -> None:
            dbapi.execute(f"ATTACH DATABASE '{core}' AS core")  # type: ignore[attr-defined]

    return engine


def _write(ring: Path, engine: sa.Engine, model: type, rows: list[dict[str, object]]) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS core")
    model.__table__.create(engine)  # type: ignore[attr-defined]
    with open_vault(ring) as vault:
        configure(vault, Base, engine=engine)
        with Session(engine) as s:
            s.add_all(model(**r) for r in rows)
            s.commit()


def _read(ring: Path, engine: sa.Engine, model: type) -> tuple[list[tuple[object, ...]], set[int]]:
    """The ORM's view of every row, and the key versions of the stored ciphertexts."""
    with open_vault(ring) as vault:
        configure(vault, Base)
        with Session(engine) as s:
            rows = s.scalars(sa.select(model)).all()
            seen = [(*sa.inspect(r).identity, r.id_no, r.note) for r in rows]
    t = model.__table__  # type: ignore[attr-defined]
    plain = sa.table(t.name, sa.column("id_no"), sa.column("note"), schema=t.schema)  # untyped
    with engine.connect() as conn:
        raw = conn.execute(sa.select(plain.c.id_no, plain.c.note)).all()
    return sorted(seen), {envelope.inspect(v).version for r in raw for v in r}


def _rotate(ring: Path) -> None:
    from tests.cli._run import PASSPHRASE

    kr = KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE))
    kr.rotate_key(ID_KEY)
    kr.rotate_key(NOTE_KEY)
    kr.close()


def test_schema_qualified_table_across_doors(tmp_path: Path, db_url: str) -> None:
    ring = tmp_path / "ring.vk"
    env = new_ring(ring)
    sqlite = db_url.startswith("sqlite")
    engine = _engine(db_url, tmp_path / "core.sqlite" if sqlite else None)
    rows = [{"id": i, "id_no": id_no(i), "note": f"备注{i}"} for i in range(1, N + 1)]
    _write(ring, engine, Kyc, rows)
    _rotate(ring)
    expected = sorted((r["id"], r["id_no"], r["note"]) for r in rows)
    assert _read(ring, engine, Kyc) == (expected, {1})
    if sqlite:  # a URL cannot attach a database: the engine the CLI runs, with one that does
        with open_vault(ring) as vault:
            # both row-bound: id_no by bind_row="auto" (its key is assigned in code)
            for columns, bind_row in ((["id_no"], True), (["note"], True)):
                job = Reencryptor(
                    engine, vault, table="core.kyc", columns=columns, bind_row=bind_row
                )
                assert job.table_name == "core.kyc"
                assert job.run().complete
    else:
        # key retire --db reads every schema: the core.kyc rows block it
        fails(
            vk("key", "retire", ID_KEY, "--version", "1", "--db", db_url, "--yes", env=env),
            f"{N} values are still under it (core.kyc.id_no: {N})",
        )
        # the binding of each column comes from the catalogue (--bind-row agrees with it)
        ok(vk("reencrypt", "--db", db_url, "--table", "core.kyc", "--column", "id_no", env=env))
        ok(vk("reencrypt", "--db", db_url, "--table", "core.kyc", "--column", "note",
              "--bind-row", env=env))  # fmt: skip
        ok(vk("key", "retire", ID_KEY, "--version", "1", "--db", db_url, "--yes", env=env))
    assert _read(ring, engine, Kyc) == (expected, {2})
    engine.dispose()


@pytest.mark.parametrize("batch", ["7", "1000"])
def test_composite_primary_key(tmp_path: Path, db_url: str, batch: str) -> None:
    ring = tmp_path / "ring.vk"
    env = new_ring(ring)
    engine = _engine(db_url, None)
    rows = [
        {"branch": f"B{i % 4}", "seq": i // 4, "id_no": id_no(i), "note": f"note {i}"}
        for i in range(N)
    ]
    _write(ring, engine, Account, rows)
    _rotate(ring)
    expected = sorted((r["branch"], r["seq"], r["id_no"], r["note"]) for r in rows)
    common = ("reencrypt", "--db", db_url, "--table", "accounts", "--batch-size", batch)
    ok(vk(*common, "--column", "id_no", env=env))
    ok(vk(*common, "--column", "note", "--bind-row", env=env))  # row = row_key([branch, seq])
    assert _read(ring, engine, Account) == (expected, {2})
    engine.dispose()
