"""`scan` reads every schema it can see (or the ones named), names what it read, and never
reports PASS for what it could not read. SQLite (attached databases are its schemas) and the
real PostgreSQL (schemas, a non-superuser role, a table it may not read)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from vaultkit.cli import _fakedata
from vaultkit.scan import render, scan_database

from .test_scan import vaultkit

PEOPLE = _fakedata.customers(20, seed=11)


def _kyc(md: sa.MetaData, schema: str | None) -> sa.Table:
    return sa.Table(
        "kyc",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("id_no", sa.String(18)),
        schema=schema,
    )


def _orders(md: sa.MetaData, schema: str | None = None) -> sa.Table:
    return sa.Table(
        "orders",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sku", sa.String(20)),
        schema=schema,
    )


def _fill(conn: sa.Connection, kyc: sa.Table | None, orders: sa.Table | None) -> None:
    if kyc is not None:
        conn.execute(kyc.insert(), [{"id_no": p.id_no} for p in PEOPLE])
    if orders is not None:
        conn.execute(orders.insert(), [{"sku": f"SKU-{i:04d}"} for i in range(20)])


# -- SQLite: every attached database ---------------------------------------------------------


@pytest.fixture
def attached(tmp_path: Path) -> Iterator[sa.Engine]:
    """main.db holds a clean table; core.db, attached as schema `core`, plaintext ID numbers."""
    core_path = tmp_path / "core.db"
    core = sa.create_engine(f"sqlite:///{core_path}")
    md = sa.MetaData()
    kyc = _kyc(md, None)
    md.create_all(core)
    with core.begin() as conn:
        _fill(conn, kyc, None)
    core.dispose()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'main.db'}")

    @sa.event.listens_for(engine, "connect")
    def attach(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"ATTACH DATABASE '{core_path}' AS core")

    md = sa.MetaData()
    orders = _orders(md)
    md.create_all(engine)
    with engine.begin() as conn:
        _fill(conn, None, orders)
    yield engine
    engine.dispose()


def test_sqlite_attached_database_is_scanned(attached: sa.Engine) -> None:
    """The plaintext ID numbers in core.kyc were ignored and the scan passed."""
    report = scan_database(attached)
    assert report.failed
    assert report.schemas == ["main", "core"]
    assert list(report.tables) == ["orders", "core.kyc"]
    (id_no,) = [c for c in report.columns if c.table == "core.kyc" and c.column == "id_no"]
    assert id_no.schema == "core"
    assert id_no.findings["cn_id"].count == len(PEOPLE)


def test_sqlite_schema_option_limits_the_scan(attached: sa.Engine) -> None:
    only_main = scan_database(attached, schemas=["main"])
    assert only_main.schemas == ["main"] and list(only_main.tables) == ["orders"]
    assert only_main.summary()["result"] == "PASS"
    only_core = scan_database(attached, schemas=["core"])
    assert list(only_core.tables) == ["core.kyc"] and only_core.failed


def test_sqlite_unknown_schema_is_not_a_pass(attached: sa.Engine) -> None:
    report = scan_database(attached, schemas=["main", "nosuch"])
    assert not report.failed and report.incomplete
    assert [(u.schema, u.table, u.reason) for u in report.unreadable] == [
        ("nosuch", None, "schema not found")
    ]
    assert report.summary()["result"] == "INCOMPLETE"


@pytest.mark.parametrize("fmt", ["md", "json", "html"])
def test_reports_name_the_schemas_and_tables_read(attached: sa.Engine, fmt: str) -> None:
    text = render(scan_database(attached), fmt)
    if fmt == "json":
        doc = json.loads(text)
        assert doc["schemas"] == ["main", "core"]
        assert doc["tables"] == [
            {"schema": "main", "table": "orders", "rows": 20},
            {"schema": "core", "table": "core.kyc", "rows": 20},
        ]
    else:
        assert "main" in text and "core" in text
        assert "orders" in text and "core.kyc" in text
    assert not any(p.id_no in text for p in PEOPLE)


def test_sqlite_table_option_takes_qualified_names(attached: sa.Engine) -> None:
    report = scan_database(attached, tables=["core.kyc"])
    assert list(report.tables) == ["core.kyc"] and report.failed
    missing = scan_database(attached, tables=["orders", "nosuch"])
    assert list(missing.tables) == ["orders"]
    assert [(u.table, u.reason) for u in missing.unreadable] == [("nosuch", "table not found")]
    assert missing.summary()["result"] == "INCOMPLETE"


# -- PostgreSQL: schemas, a non-superuser role and a table it may not read -------------------

ROLE = "vk_scan_reader"


@pytest.fixture
def pg_db(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A database with public.orders (clean), core.kyc (plaintext ID numbers), audit.kyc
    (plaintext, the role may not SELECT it) and hidden.notes (the role has no USAGE on the
    schema); yields (admin URL, role URL)."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS vk_scan_schemas")
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {ROLE}")
        conn.exec_driver_sql("CREATE DATABASE vk_scan_schemas")
        conn.exec_driver_sql(f"CREATE ROLE {ROLE} LOGIN NOSUPERUSER")
    url = sa.make_url(postgres_url).set(database="vk_scan_schemas")
    owner = sa.create_engine(url)
    md = sa.MetaData()
    with owner.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA core")
        conn.exec_driver_sql("CREATE SCHEMA audit")
        conn.exec_driver_sql("CREATE SCHEMA hidden")  # no USAGE for the role
        conn.exec_driver_sql("CREATE TABLE hidden.notes (id int, note text)")
    kyc, orders, secrets = _kyc(md, "core"), _orders(md), _kyc(md, "audit")
    md.create_all(owner)
    with owner.begin() as conn:
        _fill(conn, kyc, orders)
        _fill(conn, secrets, None)
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA core, audit TO {ROLE}")
        conn.exec_driver_sql(f"GRANT SELECT ON public.orders, core.kyc TO {ROLE}")
    owner.dispose()
    try:
        yield (
            url.render_as_string(hide_password=False),
            url.set(username=ROLE).render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP DATABASE vk_scan_schemas WITH (FORCE)")
            conn.exec_driver_sql(f"DROP ROLE {ROLE}")
        admin.dispose()


@pytest.mark.postgres
def test_postgres_reads_every_schema_and_reports_what_it_could_not(
    pg_db: tuple[str, str],
) -> None:
    """As a non-superuser: core.kyc was ignored (default schema only) and the scan exited 0."""
    _, role_url = pg_db
    proc = vaultkit("scan", "--db", role_url, "--format", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["schemas"] == ["public", "audit", "core", "hidden"]
    assert [t["table"] for t in report["tables"]] == ["orders", "core.kyc"]
    found = {c["table"]: c["findings"] for c in report["columns"] if c["findings"]}
    assert {f["kind"] for f in found["core.kyc"]} == {"cn_id"}
    assert report["unreadable"] == [
        {"schema": "audit", "table": "audit.kyc", "reason": "permission denied"},
        {"schema": "hidden", "table": "hidden.notes", "reason": "permission denied"},
    ]
    assert report["summary"]["unreadable"] == 2
    assert report["summary"]["result"] == "FAIL"
    assert not any(p.id_no in proc.stdout + proc.stderr for p in PEOPLE)


@pytest.mark.postgres
def test_postgres_permission_denied_has_its_own_exit_code(pg_db: tuple[str, str]) -> None:
    _, role_url = pg_db
    for fmt, marker in (("md", "INCOMPLETE"), ("json", '"INCOMPLETE"'), ("html", "INCOMPLETE")):
        proc = vaultkit("scan", "--db", role_url, "--schema", "audit", "--format", fmt)
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert marker in proc.stdout and "audit.kyc" in proc.stdout
        assert "permission denied" in proc.stdout and "PASS" not in proc.stdout
    proc = vaultkit("scan", "--db", role_url, "--schema", "public")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "result: **PASS**" in proc.stdout and "`public`" in proc.stdout


@pytest.mark.postgres
def test_postgres_schema_option_is_repeatable(pg_db: tuple[str, str]) -> None:
    admin_url, _ = pg_db
    proc = vaultkit(
        "scan", "--db", admin_url, "--schema", "core", "--schema", "audit", "--format", "json"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["schemas"] == ["core", "audit"] and report["unreadable"] == []
    assert [t["table"] for t in report["tables"]] == ["core.kyc", "audit.kyc"]
