"""docs/backups.md's procedure runs as written against a real PostgreSQL: pg_dump into a signed
stream, verify-file, and a restore through psql --single-transaction that restores everything,
or nothing when the backup is damaged."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.stream._format import read_header

DOC = Path(__file__).parents[2] / "docs" / "backups.md"
PASSPHRASE = "correct horse battery staple backup"


def _script() -> str:
    found = re.search(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    assert found is not None
    return found.group(1)


def _psql(url: str, sql: str) -> str:
    r = subprocess.run(
        ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return r.stdout.strip()


@pytest.fixture
def workdir(tmp_path: Path, postgres_url: str) -> tuple[Path, dict[str, str]]:
    server = postgres_url.replace("+psycopg", "")
    base = server.rsplit("/", 1)[0]
    suffix = tmp_path.name.replace("-", "_").lower()
    source, target = f"src_{suffix}", f"dst_{suffix}"
    for db in (source, target):
        _psql(server, f"CREATE DATABASE {db}")
    src = f"{base}/{source}"
    _psql(
        src,
        "CREATE TABLE customers (id int PRIMARY KEY, name text, note text);"
        "INSERT INTO customers SELECT i, 'customer ' || i, repeat('x', 40) "
        "FROM generate_series(1, 20000) i;"
        "CREATE TABLE tags (tag text);"  # one text column: any line is a valid COPY row
        "INSERT INTO tags SELECT 'tag' || i FROM generate_series(1, 3000) i;",
    )
    KeyRing.create(tmp_path / "ring.vkr", LocalKMS(passphrase=PASSPHRASE)).close()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "VAULTKIT_PASSPHRASE": PASSPHRASE,
        "DATABASE_URL": src,
        "RESTORE_URL": f"{base}/{target}",
    }
    env.pop("VAULTKIT_KEYRING", None)
    return tmp_path, env


def _bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _counts(url: str) -> tuple[str, str]:
    tables = _psql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    rows = _psql(url, "SELECT coalesce(sum(n_live_tup), 0) FROM pg_stat_user_tables")
    return tables, rows


def test_procedure_runs_as_written(workdir) -> None:
    cwd, env = workdir
    r = _bash(_script(), cwd, env)
    assert r.returncode == 0, r.stderr
    assert (cwd / "backup.vkb").exists() and not (cwd / "backup.vkb.part").exists()
    record = json.loads((cwd / "backup.json").read_text())
    assert record["command"] == "encrypt-file" and record["signed_by"]
    assert record["plaintext_bytes"] > 256 * 1024  # more than one batch of chunks
    restored = env["RESTORE_URL"]
    assert _psql(restored, "SELECT count(*), max(name) FROM customers") == "20000|customer 9999"
    assert _psql(restored, "SELECT count(*) FROM tags") == "3000"


@pytest.mark.parametrize("damage", ["modified", "truncated"])
def test_damaged_backup_restores_nothing(workdir, damage: str) -> None:
    cwd, env = workdir
    script = _script()
    paragraphs = script.split("\n\n")
    backup_steps = "\n\n".join(paragraphs[:3])  # set -e..., keygen, pg_dump | encrypt-file
    assert "pg_dump" in backup_steps and "psql" not in backup_steps
    assert _bash(backup_steps, cwd, env).returncode == 0
    blob = bytearray((cwd / "backup.vkb").read_bytes())
    if damage == "modified":
        blob[len(blob) * 2 // 3] ^= 0x01  # a chunk well after the first batches
    else:  # cut at a chunk boundary, as a full disk or a killed copy would
        header = len(read_header(io.BytesIO(bytes(blob)).read).encode())
        records = (len(blob) - header) // (65536 + 16)
        blob = blob[: header + (records // 2) * (65536 + 16)]
    (cwd / "backup.vkb").write_bytes(bytes(blob))

    verify = next(p for p in paragraphs if "verify-file" in p)
    before = sorted(p.name for p in cwd.iterdir())
    r = _bash("set -eu -o pipefail\n" + verify, cwd, env)
    assert r.returncode == 1
    said = "was modified" if damage == "modified" else "is truncated"
    assert f"NOT authentic: decryption failed: the stream {said}" in r.stderr
    assert "customer" not in r.stdout + r.stderr
    assert sorted(p.name for p in cwd.iterdir()) == before  # verify-file wrote nothing

    restore = paragraphs[-1]
    assert "psql --single-transaction -v ON_ERROR_STOP=1" in restore
    r = _bash("set -eu -o pipefail\n" + restore, cwd, env)
    assert r.returncode != 0
    assert "nothing restored" in r.stdout + r.stderr
    assert _counts(env["RESTORE_URL"]) == ("0", "0")  # rolled back: not a partial database
