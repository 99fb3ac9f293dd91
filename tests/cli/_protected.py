"""A database of ORM-protected customers for the CLI tests of reencrypt, key retire/destroy and
verify: a fresh database per test (SQLite file, or a new database on the PostgreSQL server:
``key retire --db`` and ``verify`` read every table, so tests must not see each other's)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tests.cli._run import PASSPHRASE, env_for
from vaultkit import Vault
from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, Tokenized, configure
from vaultkit.identifiers import cn_id_check_char, luhn_check_digit
from vaultkit.keys import KeyRing, LocalKMS

ID_KEY, BIDX_KEY, CARD_KEY, NOTE_KEY = "kyc.id_no", "kyc.id_no.bidx", "kyc.card", "kyc.note"
KEYS = {ID_KEY: "SM4-GCM", BIDX_KEY: "HMAC-SM3", CARD_KEY: "FF1-SM4", NOTE_KEY: "SM4-GCM"}
TABLE = "px_customers"
BITS = 16

_counter = itertools.count()


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    id_no = mapped_column(Encrypted(ID_KEY, searchable=True))
    id_no_bidx = mapped_column(BlindIndex(BIDX_KEY, source="id_no", bits=BITS), index=True)
    card_no = mapped_column(Tokenized(CARD_KEY, format="card_no"))
    note = mapped_column(Encrypted(NOTE_KEY, storage="text", bind_row=True))


def id_no(i: int) -> str:
    rng = random.Random(i)
    birth = f"19{rng.randrange(60, 99)}0{rng.randrange(1, 9)}1{rng.randrange(10)}"
    body = f"110105{birth}{i % 1000:03d}"
    return body + cn_id_check_char(body)


def card_no(i: int) -> str:
    body = f"622202{random.Random(-i).randrange(10**12):012d}"
    return body + luhn_check_digit(body)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    yield from _fresh_database(str(request.getfixturevalue("postgres_url")))


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL server only."""
    yield from _fresh_database(postgres_url)


def _fresh_database(url: str) -> Iterator[str]:
    server = sa.engine.make_url(url)
    name = f"vk_cli_{next(_counter)}_{random.randrange(10**9)}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield str(server.set(database=name).render_as_string(hide_password=False))
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def new_ring(path: Path) -> dict[str, str]:
    ring = KeyRing.create(path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12))
    for name, algorithm in KEYS.items():
        ring.create_key(name, algorithm=algorithm)
    ring.close()
    return env_for(path)


def open_vault(path: Path) -> Vault:
    return Vault(KeyRing.open(path, LocalKMS(passphrase=PASSPHRASE)))


def populate(ring: Path, url: str, n: int, *, catalogue: bool = True) -> None:
    """``n`` customers written through the ORM (``configure(..., engine=)`` records the
    catalogue unless ``catalogue`` is false)."""
    engine = sa.create_engine(url, hide_parameters=True)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with open_vault(ring) as vault:
        configure(vault, Base, engine=engine if catalogue else None)
        with Session(engine) as s:
            s.add_all(
                Customer(id=i, id_no=id_no(i), card_no=card_no(i), note=f"note-{i}")
                for i in range(1, n + 1)
            )
            s.commit()
    engine.dispose()


def search_all(ring: Path, url: str, n: int) -> dict[str, Any]:
    """Every customer found by the ORM's blind-index search on id_no, and its values."""
    engine = sa.create_engine(url, hide_parameters=True)
    found: dict[str, Any] = {}
    with open_vault(ring) as vault:
        configure(vault, Base)
        with Session(engine) as s:
            for i in range(1, n + 1):
                rows = s.scalars(sa.select(Customer).where(Customer.id_no == id_no(i))).all()
                found[id_no(i)] = [(c.id, c.card_no, c.note) for c in rows]
    engine.dispose()
    return found
