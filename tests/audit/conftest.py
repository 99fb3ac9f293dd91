"""Fixtures for the audit trail tests: a key ring, file and database targets, a private
PostgreSQL server that a test may stop (never the shared session server)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _free_port, _pg_bin
from vaultkit.keys import KeyRing, LocalKMS


def kms() -> LocalKMS:
    return LocalKMS(passphrase="pw", scrypt_n=2**10)


@pytest.fixture
def ring_path(tmp_path: Path) -> Path:
    r = KeyRing.create(tmp_path / "ring.json", kms())
    r.create_key("customers.id_no")
    r.close()
    return tmp_path / "ring.json"


@pytest.fixture
def ring(ring_path: Path) -> Iterator[KeyRing]:
    r = KeyRing.open(ring_path, kms())
    yield r
    r.close()


@pytest.fixture(params=["file", "sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A trail target of each kind: a JSON-lines file, a SQLite table, a PostgreSQL table."""
    if request.param == "file":
        return str(tmp_path / "audit.jsonl")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    url: str = request.getfixturevalue("postgres_url")
    table = "audit_" + os.urandom(4).hex()  # one table per test on the shared server
    return f"{url}#{table}"


class PrivatePostgres:
    """A throwaway PostgreSQL server this test owns, so it can stop it."""

    def __init__(self) -> None:
        self.bindir = _pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="vaultkit-audit-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.run_as: list[str] = []
        if os.geteuid() == 0:  # initdb and pg_ctl refuse to run as root
            shutil.chown(self.root, "postgres", "postgres")
            os.chmod(self.root, 0o755)
            self.run_as = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [
                *self.run_as,
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        subprocess.run(
            [
                *self.run_as,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "pg.log"),
                "-o",
                opts,
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            [
                *self.run_as,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
        )


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(pg.root, ignore_errors=True)
