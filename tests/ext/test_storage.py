"""What the database holds: no plaintext anywhere, and ciphertexts bound to column and row."""

from __future__ import annotations

import datetime
import decimal
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import defer

from tests.ext._support import Db, sample
from tests.ext.models import Account, Customer
from vaultkit import envelope
from vaultkit.errors import DecryptionError, VaultkitTypeError
from vaultkit.ext.sqlalchemy import Encrypted

N = 20
PG_DUMP = Path("/usr/lib/postgresql/15/bin/pg_dump")


def _needles(row: dict) -> set[bytes]:
    """Every sample value in the forms it could be stored in (text, UTF-8, hex as in a dump)."""
    out: set[bytes] = set()
    for key, value in row.items():
        if key in ("id", "plain"):
            continue
        if isinstance(value, bytes):
            forms = [value[:40], b"PHOTO-SECRET"]
        elif isinstance(value, dict):
            forms = [v.encode() for v in (value["risk"], json.dumps(value, ensure_ascii=False))]
        elif isinstance(value, datetime.datetime | datetime.date | decimal.Decimal):
            forms = (
                [str(value).encode(), value.isoformat().encode()]
                if not isinstance(value, decimal.Decimal)
                else [str(value).encode()]
            )
        else:
            forms = [str(value).encode()]
        for f in forms:
            out |= {f, f.hex().encode()}
    return out


def _dump(db: Db) -> bytes:
    if db.kind != "postgres":
        db.engine.dispose()
        assert db.path is not None
        return db.path.read_bytes()
    url = make_url(db.url)
    assert PG_DUMP.exists(), "pg_dump of PostgreSQL 15 is needed (scripts/system-deps.sh)"
    out = subprocess.run(
        [
            str(PG_DUMP),
            "-h",
            str(url.host),
            "-p",
            str(url.port),
            "-U",
            "postgres",
            "-t",
            "vk_customers",
            "postgres",
        ],
        check=True,
        capture_output=True,
    ).stdout
    assert b"COPY public.vk_customers" in out
    return out


def test_raw_database_holds_no_plaintext(db: Db) -> None:
    rows = [sample(i) for i in range(N)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in rows)
        s.commit()
    raw = _dump(db)
    assert b"plain-7" in raw  # the dump does show the unprotected column
    leaked = [n for r in rows for n in _needles(r) if n in raw]
    assert leaked == []


def test_stored_forms(db: Db) -> None:
    r = sample(1)
    with db.session() as s:
        s.add(Customer(**r))
        s.commit()
    with db.engine.connect() as conn:
        name, mobile, card = conn.exec_driver_sql(
            "SELECT name, mobile, card_no FROM vk_customers"
        ).one()
    assert envelope.inspect(bytes(name)).version == 1  # binary envelope in bytea/BLOB
    assert mobile.startswith("vk1.")  # text form in a text column
    version, token = card.split(":")
    assert version == "1" and len(token) == len(r["card_no"]) and token != r["card_no"]


def _copy(db: Db, sql: str) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql(sql)


def test_ciphertext_copied_to_another_column_fails(db: Db) -> None:
    with db.session() as s:
        s.add(Customer(**sample(1)))
        s.commit()
    _copy(db, "UPDATE vk_customers SET visits = balance")  # same key, other column
    with db.session() as s, pytest.raises(DecryptionError) as e:
        s.get(Customer, 1)
    assert "vk_customers" in str(e.value) and "column visits" in str(e.value)
    assert str(sample(1)["balance"]) not in str(e.value)


def test_ciphertext_copied_to_another_row_fails(db: Db) -> None:
    with db.session() as s:
        s.add_all([Customer(**sample(1)), Customer(**sample(2))])
        s.commit()
    _copy(db, "UPDATE vk_customers SET note = (SELECT note FROM vk_customers WHERE id = 1)")
    with db.session() as s:
        assert s.get(Customer, 1).note == sample(1)["note"]  # type: ignore[union-attr]
        with pytest.raises(DecryptionError) as e:
            s.get(Customer, 2)
    msg = str(e.value)
    assert "column note" in msg and "primary key 2" in msg and "secret-note" not in msg


def test_natural_key_binding(db: Db) -> None:
    with db.session() as s:
        s.add_all(
            [Account(account_no="A-1", holder="李四"), Account(account_no="A-2", holder="王五")]
        )
        s.commit()
    with db.session() as s:
        assert [a.holder for a in s.scalars(select(Account).order_by(Account.id))] == [
            "李四",
            "王五",
        ]
    _copy(
        db,
        "UPDATE vk_accounts SET holder = (SELECT holder FROM vk_accounts WHERE account_no = 'A-1')",
    )
    with db.session() as s, pytest.raises(DecryptionError):
        s.scalars(select(Account).where(Account.account_no == "A-2")).one()


def test_core_reads_of_row_bound_columns_open_under_their_row_or_are_refused(db: Db) -> None:
    """A Core read of a row-bound column never returns a ciphertext object where a value was
    expected: with the row key selected from the same table it returns the plaintext (opened
    under that row); without it, the statement is refused naming the fix."""
    with db.session() as s:
        s.add_all([Customer(**sample(4)), Customer(**sample(5))])
        s.add(Account(account_no="A-9", holder="赵六"))
        s.commit()
    t, a = Customer.__table__, Account.__table__
    with db.engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.note).order_by(t.c.id)).all()
        assert [tuple(r) for r in rows] == [(4, sample(4)["note"]), (5, sample(5)["note"])]
        assert (
            conn.execute(select(t.c.note, t.c.id).where(t.c.id == 5)).one().note
            == sample(5)["note"]
        )
        alias = t.alias("c2")
        got = conn.execute(select(alias.c.note, alias.c.id).where(alias.c.id == 4)).scalar_one()
        assert got == sample(4)["note"]
        labelled = select(t.c.note.label("n"), t.c.id).where(t.c.id == 4)
        assert conn.execute(labelled).scalar_one() == sample(4)["note"]
        inner = select(t.c.id, t.c.note).where(t.c.id == 5).subquery()
        assert conn.execute(select(inner.c.note, inner.c.id)).one() == (sample(5)["note"], 5)
        # a natural key (bind_row="account_no"): that column is the row key
        assert conn.execute(select(a.c.account_no, a.c.holder)).one() == ("A-9", "赵六")
        for stmt, needed in (
            (select(t.c.note), "select id"),
            (select(a.c.id, a.c.holder), "select account_no"),
        ):
            with pytest.raises(VaultkitTypeError, match=f"row-bound.*{needed}"):
                conn.execute(stmt).all()
    with db.session() as s:  # ORM column selects: the same rule
        assert s.execute(select(Customer.id, Customer.note).where(Customer.id == 4)).one() == (
            4,
            sample(4)["note"],
        )
        with pytest.raises(VaultkitTypeError, match="row-bound"):
            s.scalars(select(Customer.note)).all()
        assert s.get(Customer, 4).note == sample(4)["note"]  # type: ignore[union-attr]
    # the stored value is still the bound ciphertext
    with db.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT note FROM vk_customers WHERE id = 4").scalar_one()
    assert envelope.inspect(bytes(raw)).version == 1


def test_an_entity_loaded_without_its_natural_row_key_names_it(db: Db) -> None:
    with db.session() as s:
        s.add(Account(account_no="A-7", holder="钱七"))
        s.commit()
    with db.session() as s, pytest.raises(VaultkitTypeError, match="load account_no too"):
        s.scalars(select(Account).options(defer(Account.account_no))).one()
    with db.session() as s:
        assert s.scalars(select(Account)).one().holder == "钱七"


def test_core_read_of_a_copied_row_bound_value_fails_naming_the_row(db: Db) -> None:
    with db.session() as s:
        s.add_all([Customer(**sample(1)), Customer(**sample(2))])
        s.commit()
    _copy(db, "UPDATE vk_customers SET note = (SELECT note FROM vk_customers WHERE id = 1)")
    t = Customer.__table__
    with db.engine.connect() as conn, pytest.raises(DecryptionError, match="primary key 2"):
        conn.execute(select(t.c.id, t.c.note).order_by(t.c.id)).all()


def test_row_bound_value_opened_once_does_not_open_elsewhere(db: Db) -> None:
    # after row 1's note has been opened (and any batch of opened values filled), the same
    # ciphertext copied into row 2 must still fail there
    with db.session() as s:
        s.add_all([Customer(**sample(1)), Customer(**sample(2))])
        s.commit()
    with db.session() as s:
        assert [c.note for c in s.scalars(select(Customer).order_by(Customer.id))] == [
            sample(1)["note"],
            sample(2)["note"],
        ]
    _copy(db, "UPDATE vk_customers SET note = (SELECT note FROM vk_customers WHERE id = 1)")
    with db.session() as s:
        assert s.get(Customer, 1).note == sample(1)["note"]  # type: ignore[union-attr]
        with pytest.raises(DecryptionError, match="primary key 2"):
            s.get(Customer, 2)


def test_row_key_change_reseals_and_core_insert_is_refused(db: Db) -> None:
    with db.session() as s:
        s.add(Account(account_no="A-9", holder="赵六"))
        s.commit()
        a = s.scalars(select(Account)).one()
        a.account_no = "A-10"  # the natural key the holder is bound to
        s.commit()
    with db.session() as s:
        assert s.scalars(select(Account)).one().holder == "赵六"
    with db.engine.begin() as conn, pytest.raises(StatementError) as e:
        conn.execute(Customer.__table__.insert().values(id=99, note="core write"))
    assert isinstance(e.value.orig, VaultkitTypeError) and "row-bound" in str(e.value.orig)
    assert "core write" not in str(e.value)  # hide_parameters=True


def test_ciphertext_copied_to_another_row_of_an_unbound_column_decrypts(db: Db) -> None:
    """What docs/threat-model.md says of columns not row-bound (bind_row=False, or the default
    "auto" on a database-assigned key): the context is table and column only, so a value copied
    to another row opens there (as row 1's)."""
    with db.session() as s:
        s.add_all([Customer(**sample(1)), Customer(**sample(2))])
        s.commit()
    _copy(db, "UPDATE vk_customers SET name = (SELECT name FROM vk_customers WHERE id = 1)")
    with db.session() as s:
        assert s.get(Customer, 2).name == sample(1)["name"]  # type: ignore[union-attr]
    assert Customer.__table__.c.name.type.bind_row is False  # declared unbound
    assert Encrypted("k").bind_row == "auto"  # the default (test_row_binding.py)
