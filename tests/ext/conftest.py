"""Fixtures of the ext.sqlalchemy suite: a key ring, a Vault bound to the models, and one engine
per database (SQLite file, and the real PostgreSQL server of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tests.ext._support import Db
from tests.ext.models import KEYS, Base
from vaultkit.ext.sqlalchemy import configure
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
