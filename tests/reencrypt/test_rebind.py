"""Row binding across the doors (issue 12, defect 4): ``vaultkit reencrypt`` takes a column's
binding from the catalogue (no ``--bind-row`` to repeat), refuses a flag that contradicts it
(``RowBindingError``), and ``--bind-row`` moves a column written unbound to row binding: crash
safe (each batch atomic), resumable, and idempotent. ``vaultkit scan`` lists the encrypted
columns the catalogue records as not row-bound. SQLite and PostgreSQL, the real console script.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

from tests.cli._protected import db_url  # noqa: F401  (fixture: a fresh database per test)
from tests.cli._run import PASSPHRASE, env_for, fails, ok, vk
from vaultkit import Vault
from vaultkit.catalog import load
from vaultkit.columns import column_context
from vaultkit.errors import DecryptionError, UnboundValueError
from vaultkit.ext.sqlalchemy import Encrypted, configure
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.reencrypt import Reencryptor
from vaultkit.scan import render, scan_database

TABLE, KEY = "rb_accounts", "rb.holder"
N = 23
HOLDERS = {i: f"客户{i:03d}" for i in range(1, N + 1)}


def model(**encrypted: Any) -> tuple[Any, Any]:
    class Base(DeclarativeBase):
        pass

    class Account(Base):
        __tablename__ = TABLE
        id = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
        account_no = mapped_column(sa.String(32), unique=True)
        holder = mapped_column(Encrypted(KEY, **encrypted))

    return Base, Account


@pytest.fixture
def ring(tmp_path: Path) -> Path:
    path = tmp_path / "ring.vk"
    with KeyRing.create(path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12)) as r:
        r.create_key(KEY)
    return path


def vault_of(ring: Path) -> Vault:
    return Vault(KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE)))


def write(ring: Path, url: str, **encrypted: Any) -> sa.Engine:
    """N accounts through the ORM, with the catalogue recorded (configure(engine=...))."""
    engine = sa.create_engine(url, hide_parameters=True)
    base, account = model(**encrypted)
    base.metadata.create_all(engine)
    with vault_of(ring) as vault:
        configure(vault, base, engine=engine)
        with Session(engine) as s:
            s.add_all(account(id=i, account_no=f"AC{i:05d}", holder=h) for i, h in HOLDERS.items())
            s.commit()
    return engine


def read_all(ring: Path, engine: sa.Engine, **encrypted: Any) -> dict[int, str]:
    base, account = model(**encrypted)
    with vault_of(ring) as vault:
        configure(vault, base)
        with Session(engine) as s:
            return {a.id: a.holder for a in s.scalars(sa.select(account))}


def copy_row_1_into_2(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE {TABLE} SET holder = (SELECT holder FROM {TABLE} WHERE id = 1) WHERE id = 2"
        )


def binding(engine: sa.Engine) -> tuple[str, ...] | None:
    entries = {c.column: c for c in load(engine, table=TABLE) or []}
    return entries["holder"].row_key


def reencrypt(url: str, ring: Path, *args: str) -> Any:
    return vk("reencrypt", "--db", url, "--table", TABLE, "--column", "holder", "--yes",
              "--json", *args, env=env_for(ring))  # fmt: skip


def test_bind_row_moves_an_unbound_column_to_row_binding(ring: Path, db_url: str) -> None:  # noqa: F811
    engine = write(ring, db_url, bind_row=False)
    try:
        assert binding(engine) is None
        report = scan_database(engine, tables=[TABLE])
        (finding,) = report.unbound
        assert (finding.table, finding.column, finding.severity) == (TABLE, "holder", "medium")
        assert "--bind-row" in finding.fix and "read_unbound" in finding.fix
        assert report.as_dict()["not_row_bound"][0]["column"] == "holder"
        proc = vk("scan", "--db", db_url, "--table", TABLE, env=env_for(ring))
        assert proc.returncode == 0, proc.stderr  # protected data: still a PASS
        section = proc.stdout.split("## Encrypted columns not row-bound")[1]
        assert f"| {TABLE}.holder | {KEY} | medium |" in section and "--bind-row" in section
        assert "not row-bound" in render(report, "html")
        # the catalogue's binding is the default: nothing to do, nothing refused
        summary = json.loads(ok(reencrypt(db_url, ring)))
        assert summary["complete"] and summary["rewritten"] == 0
        # the move: every value rewritten under its row, in batches of 7
        summary = json.loads(ok(reencrypt(db_url, ring, "--bind-row", "--batch-size", "7")))
        assert summary["complete"] and summary["rewritten"] == N
        assert summary["columns"][0]["unbound"] == 0
        assert binding(engine) == ()  # recorded: every door now binds it
        assert scan_database(engine, tables=[TABLE]).unbound == []
        proc = vk("scan", "--db", db_url, "--table", TABLE, env=env_for(ring))
        assert proc.returncode == 0 and "## Encrypted columns not row-bound" not in proc.stdout
        # idempotent: a rerun (with the flag or, now, without) writes nothing
        for args in (("--bind-row",), ()):
            summary = json.loads(ok(reencrypt(db_url, ring, *args)))
            assert summary["complete"] and summary["rewritten"] == 0
        # the catalogue contradicted: a typed error, nothing written
        fails(reencrypt(db_url, ring, "--no-bind-row"), "cannot unbind them")
        fails(reencrypt(db_url, ring, "--row-key", "account_no"), "contradicts the catalogue")
        # the model with the default binding reads every row; a copied value no longer opens
        assert read_all(ring, engine) == HOLDERS
        copy_row_1_into_2(engine)
        with pytest.raises(DecryptionError, match="primary key 2"):
            read_all(ring, engine)
        # and the model that still declares it unbound is refused at start-up
        base, _ = model(bind_row=False)
        with vault_of(ring) as vault, pytest.raises(Exception, match="not row-bound"):
            configure(vault, base, engine=engine)
    finally:
        engine.dispose()


def test_an_interrupted_rebind_reads_and_resumes(ring: Path, db_url: str) -> None:  # noqa: F811
    """Each batch commits atomically: a run that dies after two batches leaves rows bound and
    rows unbound; the migrating model (read_unbound) reads both, the strict one names the fix,
    and a rerun finishes the rest."""
    engine = write(ring, db_url, bind_row=False)
    updates = []

    def die_on_third_batch(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("UPDATE"):
            updates.append(1)
            if len(updates) == 3:
                raise RuntimeError("killed")

    sa.event.listen(engine, "before_cursor_execute", die_on_third_batch)
    try:
        with vault_of(ring) as vault:
            job = Reencryptor(
                engine, vault, table=TABLE, columns=["holder"], batch_size=5,
                bind_row=True, rebind=True,
            )  # fmt: skip
            with pytest.raises(RuntimeError, match="killed"):
                job.run()
            assert job.count_unbound()["holder"] == N - 10  # two batches of 5 committed
        assert read_all(ring, engine, read_unbound=True) == HOLDERS
        with pytest.raises(UnboundValueError, match="--bind-row"):
            read_all(ring, engine)
        sa.event.remove(engine, "before_cursor_execute", die_on_third_batch)
        summary = json.loads(ok(reencrypt(db_url, ring, "--bind-row")))
        assert summary["complete"] and summary["rewritten"] == N - 10
        assert read_all(ring, engine) == HOLDERS
    finally:
        engine.dispose()


def test_a_natural_key_binding_comes_from_the_catalogue(ring: Path, db_url: str) -> None:  # noqa: F811
    """bind_row="account_no": reencrypt reads the natural key's column for each row's
    context, with no flag (it used to need the primary key, and key retire skipped it)."""
    engine = write(ring, db_url, bind_row="account_no")
    try:
        assert binding(engine) == ("account_no",)
        with KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE)) as r:
            r.rotate_key(KEY)
        fails(reencrypt(db_url, ring, "--row-key", "id"), "contradicts the catalogue")
        summary = json.loads(ok(reencrypt(db_url, ring)))
        assert summary["complete"] and summary["rewritten"] == N
        assert read_all(ring, engine, bind_row="account_no") == HOLDERS
        summary = json.loads(ok(reencrypt(db_url, ring, "--bind-row")))  # agrees: bound
        assert summary["complete"] and summary["rewritten"] == 0
    finally:
        engine.dispose()


def test_an_unbound_value_in_a_bound_column_is_named(ring: Path, db_url: str) -> None:  # noqa: F811
    """A value written unbound (a door that did not bind it) into a column the catalogue
    records bound: reencrypt refuses it, naming the row and --bind-row, not an opaque error."""
    engine = write(ring, db_url)  # bind_row="auto": bound
    try:
        assert binding(engine) == ()
        with vault_of(ring) as vault:
            stray = vault.encrypt(KEY, "无绑定".encode(), context=column_context(TABLE, "holder"))
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {TABLE} SET holder = :v WHERE id = 3"), {"v": stray})
        with KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE)) as r:
            r.rotate_key(KEY)
        proc = reencrypt(db_url, ring)
        fails(proc, "primary key 3: written without row binding")
        assert "--bind-row" in proc.stderr and "无绑定" not in proc.stderr + proc.stdout
        summary = json.loads(ok(reencrypt(db_url, ring, "--bind-row")))
        assert summary["complete"] and summary["rewritten"] == N
        assert read_all(ring, engine)[3] == "无绑定"
    finally:
        engine.dispose()


def test_a_dry_run_counts_unbound_values_of_a_bound_column(ring: Path, db_url: str) -> None:  # noqa: F811
    """A value written unbound into a column the catalogue records bound, under the primary
    version (nothing stale): the dry run counts it as unbound (the survey opens each value of
    a row-bound column as the run does), so it never says "nothing to do" while --bind-row
    would move a row; a run without the flag reports it left, and --bind-row moves it."""
    engine = write(ring, db_url)  # bind_row="auto": bound
    try:
        with vault_of(ring) as vault:
            stray = vault.encrypt(KEY, "无绑定".encode(), context=column_context(TABLE, "holder"))
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {TABLE} SET holder = :v WHERE id = 3"), {"v": stray})
        for args in ((), ("--bind-row",)):
            report = json.loads(ok(reencrypt(db_url, ring, "--dry-run", *args)))
            (column,) = report["columns"]
            assert (column["stale"], column["unbound"]) == (0, 1), args
        proc = reencrypt(db_url, ring)  # the catalogue's binding, no rebinding: reported left
        assert proc.returncode != 0 and "--bind-row" in proc.stderr
        summary = json.loads(proc.stdout)
        assert summary["rewritten"] == 0 and summary["columns"][0]["unbound"] == 1
        summary = json.loads(ok(reencrypt(db_url, ring, "--bind-row")))
        assert summary["complete"] and summary["rewritten"] == 1
        assert summary["columns"][0]["unbound"] == 0
        report = json.loads(ok(reencrypt(db_url, ring, "--dry-run")))
        assert report["columns"][0]["unbound"] == 0
        assert read_all(ring, engine)[3] == "无绑定"
    finally:
        engine.dispose()
