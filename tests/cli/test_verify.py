"""`vaultkit verify --db URL [--table T]` (issue 11): every protected value is read back;
bad rows are listed by table, column and primary key, never by value; exit 1 when any is bad or
anything could not be read, 0 only when every value checked out. Real console script, SQLite
and PostgreSQL, rows written through the ORM."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from tests.cli._protected import TABLE, card_no, db_url, id_no, new_ring, populate
from tests.cli._run import vk

__all__ = ["db_url"]  # the fixture

N = 40


def _raw(url: str) -> tuple[sa.Engine, sa.TableClause]:
    t = sa.table(TABLE, *(sa.column(c) for c in ("id", "id_no", "card_no", "note", "id_no_bidx")))
    return sa.create_engine(url), t


def _verify(url: str, env: dict[str, str], *extra: str) -> tuple[int, dict[str, object], str]:
    proc = vk("verify", "--db", url, "--json", *extra, env=env)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stdout + proc.stderr


def test_all_good_then_each_kind_of_damage_is_listed(tmp_path: Path, db_url: str) -> None:
    ring = tmp_path / "ring.vk"
    env = new_ring(ring)
    populate(ring, db_url, N)
    code, report, _ = _verify(db_url, env)
    assert code == 0 and report["ok"] and report["bad"] == [] and report["unread"] == []
    assert report["values"] == 4 * N  # id_no, its index, card_no, note
    human = vk("verify", "--db", db_url, env=env)
    assert human.returncode == 0 and "OK: 160 protected values in 1 table(s)" in human.stdout

    engine, t = _raw(db_url)
    with engine.begin() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(t))}
        corrupt = bytearray(rows[3].id_no)
        corrupt[-1] ^= 1
        conn.execute(t.update().where(t.c.id == 3).values(id_no=bytes(corrupt)))
        # ciphertexts swapped between rows 7 and 8: id_no is row-bound (bind_row="auto" on a
        # key assigned in code), so neither decrypts in the other's row
        conn.execute(t.update().where(t.c.id == 7).values(id_no=rows[8].id_no))
        conn.execute(t.update().where(t.c.id == 8).values(id_no=rows[7].id_no))
        # a row-bound ciphertext moved to another row
        conn.execute(t.update().where(t.c.id == 11).values(note=rows[12].note))
        # a token that is not one, and plaintext in an encrypted column
        conn.execute(t.update().where(t.c.id == 20).values(card_no="garbage"))
        conn.execute(t.update().where(t.c.id == 21).values(id_no=id_no(21).encode()))
    engine.dispose()

    code, report, text = _verify(db_url, env)
    assert code == 1 and not report["ok"]
    bad = {(b["column"], b["primary_key"]) for b in report["bad"]}  # type: ignore[index, union-attr]
    assert bad == {
        ("id_no", "3"),
        ("id_no", "7"),
        ("id_no", "8"),
        ("note", "11"),
        ("card_no", "20"),
        ("id_no", "21"),
    }
    assert {b["table"] for b in report["bad"]} == {TABLE}  # type: ignore[union-attr, index]
    for i in (3, 7, 8, 11, 20, 21):  # never a value
        assert id_no(i) not in text and card_no(i) not in text and f"note-{i}" not in text
    human = vk("verify", "--db", db_url, "--table", TABLE, env=env)
    assert human.returncode == 1 and "OK" not in human.stdout and "FAILED: 6 bad" in human.stderr


def test_never_says_ok_for_what_it_could_not_read(tmp_path: Path, db_url: str) -> None:
    ring = tmp_path / "ring.vk"
    env = new_ring(ring)
    populate(ring, db_url, 5)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # a catalogued column whose table is gone
        conn.exec_driver_sql(
            "INSERT INTO vaultkit_columns (table_name, column_name, protection, key_name, "
            "transformed) VALUES ('gone', 'c', 'encrypted', 'kyc.id_no', false)"
        )
    engine.dispose()
    code, report, _ = _verify(db_url, env)
    assert code == 1 and report["bad"] == []
    assert report["unread"] == ["gone.c: catalogued, but the table does not exist"]
    human = vk("verify", "--db", db_url, env=env)
    assert "OK" not in human.stdout and "not verified: gone.c" in human.stderr
