"""What `vaultkit reencrypt` writes, `vaultkit.ext.sqlalchemy` reads (and searches), and back:
the contexts (table, column, row), the text/binary forms, the blind index and the token form
agree. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

from vaultkit import Vault
from vaultkit.cli import _fakedata
from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, Tokenized, configure
from vaultkit.keys import KeyRing, LocalKMS

from ._support import PASSPHRASE, cli, new_ring

ROWS = 300


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


def models(table: str) -> tuple[type, type]:
    """(the plaintext legacy model, the protected model) of the same table."""

    class Plain(DeclarativeBase):
        pass

    class Legacy(Plain):
        __tablename__ = table
        id = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
        id_no = mapped_column(sa.Text)
        id_no_bidx = mapped_column(sa.LargeBinary(4))
        mobile = mapped_column(sa.Text)
        card_no = mapped_column(sa.String(80))

    class Base(DeclarativeBase):
        pass

    class Customer(Base):
        __tablename__ = table
        id = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
        id_no = mapped_column(Encrypted("customers.id_no", storage="text", searchable=True))
        id_no_bidx = mapped_column(BlindIndex("customers.mobile.bidx", source="id_no", bits=32))
        mobile = mapped_column(Encrypted("customers.mobile", storage="text", bind_row=True))
        card_no = mapped_column(Tokenized("customers.card", format="card"))

    return Legacy, Customer


def env_for(ring: Path) -> dict[str, str]:
    import os

    return {**os.environ, "VAULTKIT_PASSPHRASE": PASSPHRASE, "VAULTKIT_KEYRING": str(ring)}


def open_vault(ring: Path) -> Vault:
    return Vault(KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE)))


def test_protect_plaintext_then_rotate_then_orm_reads_and_searches(
    tmp_path: Path, db_url: str
) -> None:
    table = "rk_orm_customers"
    ring = tmp_path / "ring.vk"
    new_ring(ring)
    with KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE)) as r:
        r.create_key("customers.card", algorithm="FF1-SM4")
    people = _fakedata.customers(ROWS, seed=3)
    Legacy, Customer = models(table)
    engine = sa.create_engine(db_url)
    Legacy.metadata.drop_all(engine)
    Legacy.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add_all(
            Legacy(id=i + 1, id_no=p.id_no, mobile=p.mobile, card_no=p.card_no)
            for i, p in enumerate(people)
        )
    env = env_for(ring)
    base = ("reencrypt", "--db", db_url, "--table", table, "--yes", "--json")
    steps = [
        (
            "--column",
            "id_no",
            "--from-plaintext",
            "--key",
            "customers.id_no",
            "--blind-index",
            "id_no:id_no_bidx:customers.mobile.bidx:32",
            "--accept-identifying",  # the model's fixed 32 bits (outside the planner's range)
            "--bind-row",  # the model's key is assigned in code: bind_row="auto" binds id_no
        ),
        ("--column", "mobile", "--from-plaintext", "--key", "customers.mobile", "--bind-row"),
        ("--column", "card_no", "--from-plaintext", "--key", "customers.card", "--format", "card"),
    ]
    for args in steps:
        proc = cli(*base, *args, env=env)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["complete"]

    def check(vault: Vault) -> None:
        configure(vault, Customer)
        with Session(engine) as session:
            rows = session.scalars(sa.select(Customer).order_by(Customer.id)).all()
            assert [(c.id_no, c.mobile, c.card_no) for c in rows] == [
                (p.id_no, p.mobile, p.card_no) for p in people
            ]
            target = people[123]
            found = session.scalars(sa.select(Customer).where(Customer.id_no == target.id_no))
            assert [c.id for c in found if c.id_no == target.id_no] == [124]
            by_card = session.scalars(sa.select(Customer).where(Customer.card_no == target.card_no))
            assert [c.id for c in by_card] == [124]

    with open_vault(ring) as vault:
        check(vault)
        # the application writes a row, then every key rotates and reencrypt migrates all
        extra = _fakedata.customers(1, seed=99)[0]
        with Session(engine) as session, session.begin():
            session.add(
                Customer(id=ROWS + 1, id_no=extra.id_no, mobile=extra.mobile, card_no=extra.card_no)
            )
    people.append(extra)
    with KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE)) as r:
        for name in ("customers.id_no", "customers.mobile", "customers.card"):
            r.rotate_key(name)
    for args in [
        ("--column", "id_no"),
        ("--column", "mobile", "--bind-row"),
        ("--column", "card_no", "--key", "customers.card", "--format", "card"),
    ]:
        proc = cli(*base, *args, env=env)
        assert proc.returncode == 0, proc.stderr
        summary = json.loads(proc.stdout)
        assert summary["complete"] and summary["rewritten"] == ROWS + 1
        assert [v["version"] for v in summary["columns"][0]["by_version"]] == [2]
    with open_vault(ring) as vault:
        check(vault)
    engine.dispose()
