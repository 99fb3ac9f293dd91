"""`vaultkit reencrypt` through the real console script, on SQLite and PostgreSQL: migration,
dry run, resumability, bad input (clear message, non-zero exit, no traceback, nothing changed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from vaultkit import envelope

from ._support import (
    ID_KEY,
    MOBILE_KEY,
    TABLE,
    Setup,
    cli,
    customers_table,
    populate,
    read_all,
    rotate,
    verify_all,
)

ROWS = 1500


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> Setup:
    return populate(tmp_path, db_url, ROWS)


def reencrypt(s: Setup, *args: str, env: dict[str, str] | None = None):
    return cli("reencrypt", "--db", s.url, "--table", TABLE, *args, env=env or s.env)


def test_moves_every_value_to_the_new_version(setup: Setup) -> None:
    rotate(setup, ID_KEY, MOBILE_KEY)
    proc = reencrypt(
        setup, "--column", "id_no", "--column", "mobile", "--batch-size", "400", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["complete"] and summary["rewritten"] == 2 * ROWS and summary["rows"] == ROWS
    for col in summary["columns"]:
        assert col["by_version"] == [
            {"key": col["by_version"][0]["key"], "version": 2, "count": ROWS}
        ]
    verify_all(setup, expect_version=2, expected=setup.originals)
    again = reencrypt(setup, "--column", "id_no", "--column", "mobile", "--json")
    assert json.loads(again.stdout)["rewritten"] == 0  # resumable: nothing left to do


def test_dry_run_changes_nothing(setup: Setup) -> None:
    rotate(setup, ID_KEY)
    before = read_all(setup)
    proc = reencrypt(setup, "--column", "id_no", "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["dry_run"] is True
    assert report["columns"][0]["stale"] == ROWS
    assert read_all(setup) == before


def test_max_rate_limits_throughput(setup: Setup) -> None:
    rotate(setup, ID_KEY)
    proc = reencrypt(
        setup, "--column", "id_no", "--max-rate", "2000", "--batch-size", "250", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["seconds"] >= (ROWS - 250) / 2000


def _unchanged(s: Setup, before: list) -> None:
    assert read_all(s) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (("--table", "nope", "--column", "id_no"), "no table 'nope'"),
        (("--table", TABLE, "--column", "nope"), "has no column 'nope'"),
        (("--table", TABLE, "--column", "id"), "primary key cannot be re-encrypted"),
    ],
)
def test_unknown_table_or_column(setup: Setup, args: tuple[str, ...], message: str) -> None:
    rotate(setup, ID_KEY)
    before = read_all(setup)
    proc = cli("reencrypt", "--db", setup.url, *args, env=setup.env)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    _unchanged(setup, before)


def test_mixed_plaintext_and_ciphertext_column_is_refused(setup: Setup) -> None:
    rotate(setup, ID_KEY, MOBILE_KEY)
    engine = sa.create_engine(setup.url)
    t = customers_table(sa.MetaData())
    with engine.begin() as conn:
        conn.execute(t.update().where(t.c.id.in_([5, 700])).values(mobile="13800138000"))
    engine.dispose()
    before = read_all(setup)
    proc = reencrypt(setup, "--column", "id_no", "--column", "mobile")
    assert proc.returncode == 2
    mixed = f"column {TABLE}.mobile mixes 2 plaintext and {ROWS - 2} ciphertext values"
    assert mixed in proc.stderr
    assert "13800138000" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    _unchanged(setup, before)


def test_wrong_passphrase(setup: Setup) -> None:
    rotate(setup, ID_KEY)
    before = read_all(setup)
    ring_bytes = setup.ring_path.read_bytes()
    env = {**setup.env, "VAULTKIT_PASSPHRASE": "wrong passphrase"}
    proc = reencrypt(setup, "--column", "id_no", env=env)
    assert proc.returncode == 2
    assert "wrong passphrase" in proc.stderr.lower() or "cannot open" in proc.stderr
    assert "Traceback" not in proc.stderr
    _unchanged(setup, before)
    assert setup.ring_path.read_bytes() == ring_bytes


@pytest.mark.parametrize(
    "url, message",
    [
        ("sqlite::memory:", "malformed database URL"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "connection"),
        ("sqlite:////nonexistent/dir/db.sqlite", "no SQLite database"),
    ],
)
def test_bad_database(tmp_path: Path, url: str, message: str) -> None:
    s = populate(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", 10)
    proc = cli("reencrypt", "--db", url, "--table", TABLE, "--column", "id_no", env=s.env)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_secrets_never_in_output(setup: Setup) -> None:
    rotate(setup, ID_KEY)
    proc = reencrypt(setup, "--column", "id_no", "--json")
    assert proc.returncode == 0
    out = proc.stdout + proc.stderr
    assert setup.env["VAULTKIT_PASSPHRASE"] not in out
    assert not any(id_no in out for id_no, _ in setup.originals.values())
    assert all(envelope.inspect(r.id_no).version == 2 for r in read_all(setup))


def test_from_plaintext_asks_for_confirmation(tmp_path: Path) -> None:
    s = populate(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", 20)
    engine = sa.create_engine(s.url)
    t = customers_table(sa.MetaData())
    with engine.begin() as conn:
        conn.execute(t.update().values(mobile="13800138000"))
    engine.dispose()
    before = read_all(s)
    proc = reencrypt(s, "--column", "mobile", "--from-plaintext", "--key", MOBILE_KEY)
    assert proc.returncode == 2
    assert "Refusing without --yes" in proc.stderr
    _unchanged(s, before)
    proc = reencrypt(s, "--column", "mobile", "--from-plaintext", "--key", MOBILE_KEY, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert all(r.mobile.startswith("vk1.") for r in read_all(s))


def test_unknown_key_changes_nothing(tmp_path: Path) -> None:
    s = populate(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", 20)
    before = read_all(s)
    proc = reencrypt(s, "--column", "mobile", "--from-plaintext", "--key", "nope", "--yes")
    assert proc.returncode == 2 and "nope" in proc.stderr and "Traceback" not in proc.stderr
    _unchanged(s, before)


def test_values_under_a_destroyed_version_are_refused_up_front(tmp_path: Path) -> None:
    from vaultkit.keys import KeyRing, LocalKMS

    from ._support import PASSPHRASE

    s = populate(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", 20)
    rotate(s, ID_KEY)
    with KeyRing.open(s.ring_path, LocalKMS(passphrase=PASSPHRASE)) as ring:
        ring.retire_version(ID_KEY, 1)
        ring.destroy_version(ID_KEY, 1, force=True)
    before = read_all(s)
    proc = reencrypt(s, "--column", "id_no")
    assert proc.returncode == 2
    assert "20 under customers.id_no v1" in proc.stderr and "destroyed" in proc.stderr
    _unchanged(s, before)


def test_from_plaintext_binary_column_keeps_the_bytes(tmp_path: Path) -> None:
    from ._support import PASSPHRASE, new_ring

    ring = tmp_path / "ring.vk"
    new_ring(ring)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = sa.create_engine(url)
    md = sa.MetaData()
    t = sa.Table(
        "blobs",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary),
    )
    md.create_all(engine)
    blobs = [bytes([i, 255 - i]) * 5 for i in range(30)]
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"id": i + 1, "data": b} for i, b in enumerate(blobs)])
    s = Setup(ring, url, {})
    proc = cli(
        "reencrypt",
        "--db",
        url,
        "--table",
        "blobs",
        "--column",
        "data",
        "--from-plaintext",
        "--key",
        ID_KEY,
        "--yes",
        env=s.env,
    )
    assert proc.returncode == 0, proc.stderr
    with engine.connect() as conn:
        stored = [r.data for r in conn.execute(sa.select(t).order_by(t.c.id))]
    engine.dispose()
    with s.vault() as v:
        assert v.decrypt_many(stored, context={"table": "blobs", "column": "data"}) == blobs
    assert PASSPHRASE not in proc.stdout + proc.stderr


def test_c3_column_is_never_protected_reversibly(tmp_path: Path) -> None:
    s = populate(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", 5)
    engine = sa.create_engine(s.url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE logins (id INTEGER PRIMARY KEY, user_pin TEXT)")
        conn.exec_driver_sql("INSERT INTO logins VALUES (1, '123456'), (2, '654321')")
    proc = reencrypt(s, "--table", "logins", "--column", "user_pin", "--from-plaintext",
                     "--key", MOBILE_KEY, "--yes")  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "C3 authentication data" in proc.stderr and "123456" not in proc.stderr
    with engine.connect() as conn:
        assert [r[0] for r in conn.exec_driver_sql("SELECT user_pin FROM logins ORDER BY id")] == [
            "123456",
            "654321",
        ]
    engine.dispose()
