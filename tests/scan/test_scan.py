"""`vaultkit scan` through the real console script, and the scanner's detectors."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from vaultkit.cli import _fakedata
from vaultkit.scan import DETECTORS, scan_database


def vaultkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vaultkit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def make_plain_db(path: Path, n: int = 300) -> tuple[str, list[_fakedata.FakeCustomer]]:
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    md = sa.MetaData()
    customers = sa.Table(
        "customers",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String),
        sa.Column("id_no", sa.String),
        sa.Column("card_no", sa.String),
        sa.Column("mobile", sa.String),
        sa.Column("email", sa.String),
        sa.Column("remark", sa.Text),
        sa.Column("password", sa.String),
        sa.Column("balance", sa.Numeric(12, 2)),
    )
    merchants = sa.Table(
        "merchants",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uscc", sa.String),
    )
    clean = sa.Table(
        "orders",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("amount", sa.Integer),
        sa.Column("sku", sa.String),
    )
    md.create_all(engine)
    people = _fakedata.customers(n, seed=21)
    with engine.begin() as conn:
        conn.execute(
            customers.insert(),
            [
                {
                    "name": p.name,
                    "id_no": p.id_no,
                    "card_no": p.card_no,
                    "mobile": p.mobile,
                    "email": p.email,
                    "remark": f"客户来电 {p.mobile}，身份证 {p.id_no}",
                    "password": "hunter2" if i % 2 else "$argon2id$v=19$m=65536,t=3,p=4$abc$def",
                    "balance": p.balance,
                }
                for i, p in enumerate(people)
            ],
        )
        conn.execute(merchants.insert(), [{"uscc": m.uscc} for m in _fakedata.merchants(40)])
        conn.execute(
            clean.insert(), [{"amount": i * 37, "sku": f"SKU-{i:06d}"} for i in range(200)]
        )
    engine.dispose()
    return url, people


@pytest.fixture(scope="module")
def plain_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[_fakedata.FakeCustomer]]:
    return make_plain_db(tmp_path_factory.mktemp("scan") / "plain.db")


def raw_values(people: list[_fakedata.FakeCustomer]) -> list[str]:
    return [v for p in people for v in (p.id_no, p.card_no, p.mobile, p.email)]


def test_json_report_finds_every_kind_and_fails(plain_db) -> None:
    url, _ = plain_db
    proc = vaultkit("scan", "--db", url, "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    cols = {c["column"]: c for c in report["columns"] if c["table"] == "customers"}
    kinds = {name: {f["kind"] for f in c["findings"]} for name, c in cols.items()}
    assert kinds["id_no"] == {"cn_id"}
    assert kinds["card_no"] == {"card_no"}
    assert kinds["mobile"] == {"mobile"}
    assert kinds["email"] == {"email"}
    assert kinds["remark"] == {"mobile", "cn_id"}  # inside free text
    assert kinds["password"] == {"authentication"}
    assert cols["password"]["level"] == "C3"
    assert cols["password"]["findings"][0]["count"] == 150  # the verifiers are not findings
    assert kinds["name"] == set() and kinds["balance"] == set()
    merchants = [c for c in report["columns"] if c["table"] == "merchants"]
    assert {f["kind"] for c in merchants for f in c["findings"]} == {"uscc"}
    orders = [c for c in report["columns"] if c["table"] == "orders"]
    assert all(not c["findings"] for c in orders)
    s = report["summary"]
    assert s["result"] == "FAIL"
    assert s["unprotected_columns_by_level"] == {"C3": 1, "C2": 5, "C1": 1}


@pytest.mark.parametrize("fmt", ["md", "json", "html"])
def test_reports_hold_masked_values_only(plain_db, tmp_path: Path, fmt: str) -> None:
    url, people = plain_db
    out = tmp_path / f"report.{fmt}"
    proc = vaultkit("scan", "--db", url, "--format", fmt, "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert "Traceback" not in proc.stderr
    leaked = [v for v in raw_values(people) if v in text or v in proc.stdout]
    assert leaked == []
    assert "hunter2" not in text
    assert "cn_id" in text and "card_no" in text
    if fmt == "html":
        assert text.startswith("<!doctype html>")
    if fmt == "md":
        assert "result: **FAIL**" in text


def test_sample_limits_rows_read(plain_db) -> None:
    url, _ = plain_db
    proc = vaultkit(
        "scan", "--db", url, "--format", "json", "--sample", "10", "--table", "customers"
    )
    report = json.loads(proc.stdout)
    assert {c["sampled"] for c in report["columns"]} == {10}
    assert [t["table"] for t in report["tables"]] == ["customers"]
    assert report["tables"][0]["rows"] == 300


def test_clean_database_passes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clean.db'}"
    engine = sa.create_engine(url)
    md = sa.MetaData()
    t = sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.String))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"v": f"item {i}"} for i in range(50)])
    proc = vaultkit("scan", "--db", url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "result: **PASS**" in proc.stdout


@pytest.mark.parametrize(
    "url, message",
    [
        ("not a url", "malformed database URL"),
        ("sqlite:////nonexistent/dir/x.db", "no SQLite database"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "database"),
        ("nosuchdialect://x/y", "cannot use database URL"),
    ],
)
def test_bad_database_clear_error(url: str, message: str) -> None:
    proc = vaultkit("scan", "--db", url)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_random_digits_rarely_taken_for_cards() -> None:
    rng = random.Random(5)
    card = next(d for d in DETECTORS if d.kind == "card_no")
    hits = 0
    for _ in range(2000):
        s = "62" + "".join(str(rng.randrange(10)) for _ in range(14))
        hits += any(card.valid(m.group()) for m in card.pattern.finditer(s))
    assert 120 < hits < 280  # Luhn passes ~1 in 10: why columns report counts, not guesses


def test_scan_is_read_only(plain_db, tmp_path: Path) -> None:
    url, _ = plain_db
    path = Path(url.removeprefix("sqlite:///"))
    before = path.read_bytes()
    report = scan_database(sa.create_engine(url), sample=50)
    assert report.failed
    assert path.read_bytes() == before


def test_protected_columns_counted_by_key_and_version(tmp_path: Path) -> None:
    import os

    from vaultkit import Vault
    from vaultkit.keys import KeyRing, LocalKMS

    ring_path = tmp_path / "ring.vk"
    ring = KeyRing.create(ring_path, LocalKMS(passphrase="p", scrypt_n=2**12))
    ring.create_key("ids")
    ring.create_key("cards", algorithm="FF1-SM4")
    url = f"sqlite:///{tmp_path / 'enc.db'}"
    engine = sa.create_engine(url)
    md = sa.MetaData()
    t = sa.Table(
        "customers",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("id_no", sa.LargeBinary),
        sa.Column("mobile", sa.Text),
        sa.Column("card_no", sa.String),
    )
    md.create_all(engine)
    people = _fakedata.customers(60, seed=2)
    with Vault(ring) as v, engine.begin() as conn:
        ctx = {"table": "customers", "column": "id_no"}
        ids = v.encrypt_many("ids", [p.id_no for p in people[:30]], context=ctx)
        ring.rotate_key("ids")
        ids += v.encrypt_many("ids", [p.id_no for p in people[30:]], context=ctx)
        mobiles = v.encrypt_text_many("ids", [p.mobile for p in people], context=ctx)
        cards = v.tokenize_many(
            "cards",
            [p.card_no for p in people],
            format="card",
            context={"table": "customers", "column": "card_no"},
        )
        conn.execute(
            t.insert(),
            [
                {"id_no": i, "mobile": m, "card_no": f"1:{c}"}
                for i, m, c in zip(ids, mobiles, cards)
            ],
        )
    ring.close()
    env = {**os.environ, "VAULTKIT_PASSPHRASE": "p", "VAULTKIT_KEYRING": str(ring_path)}
    proc = vaultkit("scan", "--db", url, "--format", "json", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    cols = {c["column"]: c for c in report["columns"]}
    assert cols["id_no"]["ciphertexts"] == [
        {"key": "ids", "version": 1, "count": 30},
        {"key": "ids", "version": 2, "count": 30},
    ]
    assert cols["mobile"]["ciphertexts"] == [{"key": "ids", "version": 2, "count": 60}]
    assert cols["card_no"]["tokens"] == [{"version": 1, "count": 60}]
    assert report["summary"]["result"] == "PASS"
    assert report["summary"]["protected_columns"] == 3
    # without the key ring, keys are shown by id
    proc = vaultkit("scan", "--db", url, "--format", "json")
    assert json.loads(proc.stdout)["columns"][1]["ciphertexts"][0]["key"] == "key#1"


@pytest.mark.postgres
def test_postgres(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    md = sa.MetaData()
    t = sa.Table(
        "scan_people",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("id_no", sa.String(18)),
        sa.Column("note", sa.Text),
    )
    md.drop_all(engine)
    md.create_all(engine)
    people = _fakedata.customers(50, seed=4)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"id_no": p.id_no, "note": f"email {p.email}"} for p in people])
    proc = vaultkit("scan", "--db", postgres_url, "--format", "json", "--table", "scan_people")
    assert proc.returncode == 1, proc.stderr
    cols = {c["column"]: c for c in json.loads(proc.stdout)["columns"]}
    assert cols["id_no"]["findings"][0]["kind"] == "cn_id"
    assert cols["note"]["findings"][0]["kind"] == "email"
    assert not any(p.id_no in proc.stdout for p in people)
    md.drop_all(engine)
    engine.dispose()


def test_values_that_do_not_fit_the_declared_type_are_scanned(tmp_path: Path) -> None:
    """SQLite keeps text in DATETIME and NUMERIC columns; the scan reads what is stored instead
    of failing in SQLAlchemy's result processing (whose error would quote the value)."""
    path = tmp_path / "dirty.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, d DATETIME, n NUMERIC)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 'call 13812345678', 'x')")
    report = scan_database(engine)
    engine.dispose()
    found = {c.column: c.findings for c in report.columns}
    assert found["d"]["mobile"].examples == ["138****5678"]
    assert found["n"] == {}


def test_authentication_examples_show_no_character(tmp_path: Path) -> None:
    """C3 values (passwords) are never displayed, not even their first or last characters."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'c3.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, password TEXT)")
        conn.exec_driver_sql("INSERT INTO users VALUES (1, 'Qcorrect-horse-battery-stapleZ')")
    report = scan_database(engine)
    engine.dispose()
    (column,) = [c for c in report.columns if c.column == "password"]
    (example,) = column.findings["authentication"].examples
    assert set(example) == {"*"}
