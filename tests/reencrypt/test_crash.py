"""Crash safety: `vaultkit reencrypt` killed with SIGKILL at random points, then re-run.

50,000 rows, two encrypted columns (binary and text form) and a blind index. Each kill lands at a
random time; the database must stay consistent throughout (each batch commits or not), and the
re-run must finish the job: every row under the new version, decrypting to its original value,
none lost or duplicated, the blind index still finding every row. The second test does the same
while an application process keeps writing new values: none of its writes may be lost.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vaultkit import envelope

from ._support import (
    ID_KEY,
    MOBILE_KEY,
    TABLE,
    Setup,
    cli,
    populate,
    read_all,
    rotate,
    verify_all,
)

ROWS = 50_000
KILLS = 10
ARGS = (
    "reencrypt",
    "--table",
    TABLE,
    "--column",
    "id_no",
    "--column",
    "mobile",
    "--batch-size",
    "500",
)
BIG = (*ARGS[:-1], "5000")


def migrated(s: Setup) -> int:
    """Rows whose id_no is already under version 2 (headers only); checks no row is lost."""
    rows = read_all(s)
    assert len(rows) == ROWS and len({r.id for r in rows}) == ROWS
    return sum(envelope.inspect(r.id_no).version == 2 for r in rows)


def kill_at_random_points(
    s: Setup, rng: random.Random, kills: int, args: tuple[str, ...] = ARGS
) -> list[int]:
    """Start the command and SIGKILL it at a random point of the migration, ``kills`` times:
    after a random number of its progress lines (every 5% of the rows) and a random delay that
    lands inside a batch. Returns the progress (rows migrated) seen after each kill, which never
    goes backwards."""
    progress = [0]
    for _ in range(kills):
        proc = subprocess.Popen(
            [sys.executable, "-m", "vaultkit", *args, "--db", s.url],
            env=s.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        lines = rng.randrange(1, 8)
        for line in proc.stderr:
            if line.startswith("reencrypt:"):
                lines -= 1
                if lines == 0:
                    break
        time.sleep(rng.uniform(0.0, 0.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        progress.append(migrated(s))
        assert progress[-1] >= progress[-2]
    return progress[1:]


def finish(s: Setup, args: tuple[str, ...] = ARGS) -> dict:
    done = cli(*args, "--db", s.url, "--json", env=s.env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun(tmp_path: Path) -> None:
    s = populate(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", ROWS)
    rotate(s, ID_KEY, MOBILE_KEY)
    progress = kill_at_random_points(s, random.Random(20261127), KILLS)
    interrupted = [p for p in progress if 0 < p < ROWS]
    assert len(interrupted) >= 3, f"too few kills landed mid-migration: {progress}"
    summary = finish(s)
    assert summary["complete"] is True
    assert summary["rows"] == ROWS
    verify_all(s, expect_version=2, expected=s.originals)
    # resumable: a further run has nothing left to do
    again = finish(s)
    assert again["rewritten"] == 0


APP = r"""
import json, random, sys, time
import sqlalchemy as sa
from vaultkit import Vault
from vaultkit.keys import KeyRing, LocalKMS
from tests.reencrypt._support import PASSPHRASE, ID_KEY, TABLE, ctx, customers_table
ring_path, url, log_path, seconds, rows = sys.argv[1:6]
rng = random.Random(7)
engine = sa.create_engine(url, connect_args={"timeout": 60})
t = customers_table(sa.MetaData())
vault = Vault(KeyRing.open(ring_path, LocalKMS(passphrase=PASSPHRASE)))
end = time.monotonic() + float(seconds)
with open(log_path, "w") as log:
    n = 0
    while time.monotonic() < end:
        row = 1 + 100 * rng.randrange(int(rows) // 100)  # hot rows: some in every batch
        value = f"{110105}{19000101 + n:08d}{row % 1000:03d}X"[:18]
        ct = vault.encrypt(ID_KEY, value, context=ctx(TABLE, "id_no"))
        with engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == row).values(id_no=ct))
        log.write(json.dumps([row, value]) + "\n")
        log.flush()
        n += 1
        time.sleep(0.002)
"""


@pytest.mark.slow
def test_concurrent_application_writes_are_never_lost(tmp_path: Path) -> None:
    s = populate(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", ROWS)
    rotate(s, ID_KEY, MOBILE_KEY)
    log = tmp_path / "app.log"
    root = Path(__file__).resolve().parents[2]
    app = subprocess.Popen(
        [sys.executable, "-c", APP, str(s.ring_path), s.url, str(log), "12", str(ROWS)],
        cwd=root,
        env={**s.env, "PYTHONPATH": str(root)},
    )
    try:
        time.sleep(0.5)
        # big batches: a long window between reading a batch and writing it back
        kill_at_random_points(s, random.Random(99), KILLS // 2, BIG)
        finish(s, BIG)
    finally:
        assert app.wait(timeout=120) == 0
    writes = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(writes) > 100
    expected = dict(s.originals)
    for row, value in writes:  # the application's last write to each row wins
        expected[row] = (value, expected[row][1])
    finish(s, BIG)  # writes made after the last run ended are already under the new version
    verify_all(s, expect_version=2, expected=expected)


@pytest.mark.postgres
@pytest.mark.slow
def test_sigkill_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    rows = 10_000
    s = populate(tmp_path, postgres_url, rows)
    rotate(s, ID_KEY, MOBILE_KEY)
    rng = random.Random(5)
    progress = [0]
    for _ in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-m", "vaultkit", *ARGS, "--db", s.url],
            env=s.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("reencrypt:") and rng.random() < 0.3:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        now = read_all(s)
        assert len(now) == rows
        progress.append(sum(envelope.inspect(r.id_no).version == 2 for r in now))
        assert progress[-1] >= progress[-2]
    summary = finish(s)
    assert summary["complete"] is True
    verify_all(s, expect_version=2, expected=s.originals)
