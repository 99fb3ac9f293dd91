"""Shared fixtures: backends and the real services the integration tests run against.

PostgreSQL and SoftHSM2 are started here, in temp dirs, once per session, and torn down at the
end (PostgreSQL via initdb + pg_ctl as the postgres user). `make test` installs them
(scripts/system-deps.sh); when a service cannot start, the tests that need it fail loudly rather
than skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vaultkit.hazmat import bindings

VECTORS = Path(__file__).parent / "vectors"

pytest_plugins = ["tests._spark"]  # the shared SparkSession (spark, spark_dirs)


@pytest.fixture(params=bindings.available())
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once per available backend (native and reference)."""
    with bindings.use(request.param):
        yield request.param


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found: run `make test` (as root)")
    return Path(found[-1]).parent


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a throwaway PostgreSQL server on loopback (SQLAlchemy + psycopg 3)."""
    bindir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="vaultkit-pg-"))
    data = root / "data"
    port = _free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb and pg_ctl refuse to run as root
        shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o755)
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "pg.log"),
            "-o",
            opts,
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


@pytest.fixture(scope="session")
def softhsm() -> Iterator[dict[str, str]]:
    """A fresh SoftHSM2 token: {'module', 'token_label', 'pin', 'so_pin'}; SOFTHSM2_CONF is set."""
    if not os.path.exists(SOFTHSM_MODULE):
        raise RuntimeError("SoftHSM2 not installed: run `make test` (as root)")
    root = Path(tempfile.mkdtemp(prefix="vaultkit-hsm-"))
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root}/tokens\nobjectstore.backend = file\n")
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "vaultkit-test",
            "--so-pin",
            "87654321",
            "--pin",
            "1234",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield {
            "module": SOFTHSM_MODULE,
            "token_label": "vaultkit-test",
            "pin": "1234",
            "so_pin": "87654321",
        }
    finally:
        if old is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = old
        shutil.rmtree(root, ignore_errors=True)
