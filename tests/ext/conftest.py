"""Fixtures of the ext.sqlalchemy suite: a key ring, a Vault bound to the models, and one engine
per database (SQLite file, and the real PostgreSQL server of tests/conftest.py)."""

from __future__ import annotations

import datetime
import decimal
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from tests.ext.models import KEYS, Base
from vaultkit.ext.sqlalchemy import configure
from vaultkit.identifiers import cn_id_check_char, luhn_check_digit
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.vault import Vault


@pytest.fixture
def ring(tmp_path: Path) -> Iterator[KeyRing]:
    kms = LocalKMS(passphrase="test passphrase", scrypt_n=2**10)
    ring = KeyRing.create(tmp_path / "keyring.vk", kms)
    for name, algorithm in KEYS.items():
        ring.create_key(name, algorithm=algorithm)
    yield ring
    ring.close()


@pytest.fixture
def vault(ring: KeyRing) -> Iterator[Vault]:
    with Vault(ring) as v:
        configure(v, Base)
        yield v


@dataclass
class Db:
    kind: str  # "sqlite", "sqlite-per-value" or "postgres"
    url: str
    engine: Engine
    path: Path | None  # the SQLite file

    def session(self) -> Session:
        return sessionmaker(self.engine, expire_on_commit=True)()


@pytest.fixture(
    params=["sqlite", "sqlite-per-value", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def db(request: pytest.FixtureRequest, tmp_path: Path, vault: Vault) -> Iterator[Db]:
    """ "sqlite" and "postgres" engines get the batch paths; "sqlite-per-value" does not."""
    path = None
    if request.param.startswith("sqlite"):
        path = tmp_path / "test.sqlite"
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine(url, hide_parameters=True)
    if request.param != "sqlite-per-value":
        configure(vault, Base, engine=engine)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        yield Db(request.param, url, engine, path)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


def id_no(rng: random.Random) -> str:
    birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(20000))
    body = f"110105{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + cn_id_check_char(body)


def card_no(rng: random.Random) -> str:
    body = "622202" + "".join(str(rng.randrange(10)) for _ in range(12))
    return body + luhn_check_digit(body)


def sample(i: int) -> dict[str, Any]:
    """Row ``i`` of the synthetic customers (distinctive values, so dumps can be searched)."""
    rng = random.Random(i)
    return {
        "id": i,
        "name": f"测试客户{i:05d}",
        "id_no": id_no(rng),
        "card_no": card_no(rng),
        "mobile": f"139{rng.randrange(10**8):08d}",
        "balance": decimal.Decimal(f"{rng.randrange(10**9)}.{rng.randrange(100):02d}"),
        "birth": datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(15000)),
        "opened": datetime.datetime(2020, 1, 1, 8, 30, tzinfo=datetime.timezone.utc)
        + datetime.timedelta(seconds=rng.randrange(10**8)),
        "visits": rng.randrange(-(10**12), 10**12),
        "photo": bytes(rng.randrange(256) for _ in range(40)) + b"PHOTO-SECRET",
        "extra": {"risk": f"风险等级{i}", "tags": ["vip", i]},
        "note": f"secret-note-{i:05d}",
        "plain": f"plain-{i}",
    }
