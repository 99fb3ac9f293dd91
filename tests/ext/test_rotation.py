"""Key rotation while the application runs: old rows load, new rows use the new version, and
searches (blind index and tokens) find both."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import defer

from tests.ext._support import Db, sample
from tests.ext.models import KEYS, Base, Customer
from vaultkit import envelope
from vaultkit.errors import KeyStateError
from vaultkit.ext.sqlalchemy import configure
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.reencrypt import Reencryptor
from vaultkit.vault import Vault

TTL = 0.2


def test_rotation_while_running(db: Db, ring: KeyRing) -> None:
    # The application's Vault caches keys for TTL seconds; the operator rotates through another
    # KeyRing handle on the same file (as `vaultkit key rotate` in another process would).
    app = Vault(ring, cache_ttl=TTL)
    configure(app, Base)
    old = [sample(i) for i in range(5)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in old)
        s.commit()

    operator = KeyRing.open(ring.path, LocalKMS(passphrase="test passphrase"))
    for name in KEYS:
        assert operator.rotate_key(name) == 2
    operator.close()
    time.sleep(TTL * 1.5)

    new = [sample(i) for i in range(5, 10)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in new)
        s.commit()
    with db.engine.connect() as conn:
        raw = dict(conn.exec_driver_sql("SELECT id, name FROM vk_customers").all())
        cards = dict(conn.exec_driver_sql("SELECT id, card_no FROM vk_customers").all())
    assert {i: envelope.inspect(bytes(raw[i])).version for i in raw} == {
        i: 1 if i < 5 else 2 for i in range(10)
    }
    assert {i: cards[i].split(":")[0] for i in cards} == {
        i: "1" if i < 5 else "2" for i in range(10)
    }

    with db.session() as s:
        got = s.scalars(select(Customer).order_by(Customer.id)).all()
        assert [c.name for c in got] == [r["name"] for r in old + new]
        assert [c.note for c in got] == [r["note"] for r in old + new]
        for r in (old[1], new[2]):
            assert (
                s.scalars(select(Customer.id).where(Customer.id_no == r["id_no"])).one() == r["id"]
            )
            assert (
                s.scalars(select(Customer.id).where(Customer.card_no == r["card_no"])).one()
                == r["id"]
            )
        ids = [old[0]["id_no"], new[0]["id_no"]]
        assert sorted(s.scalars(select(Customer.id).where(Customer.id_no.in_(ids)))) == [0, 5]
        # an update re-encrypts an old row under the new versions; search still finds it
        c = got[0]
        c.name, c.id_no = "改名", new[4]["id_no"]
        s.commit()
        found = s.scalars(select(Customer.id).where(Customer.id_no == new[4]["id_no"])).all()
        assert sorted(found) == [0, 9]
    with db.engine.connect() as conn:
        name = conn.exec_driver_sql("SELECT name FROM vk_customers WHERE id = 0").scalar_one()
    assert envelope.inspect(bytes(name)).version == 2
    app.close()


def test_retired_version_refuses_naming_the_column(db: Db, ring: KeyRing) -> None:
    with db.session() as s:
        s.add(Customer(**sample(1)))
        s.commit()
    ring.rotate_key("customers.name")
    ring.retire_version("customers.name", 1)
    fresh = Vault(ring)  # no cached key versions
    configure(fresh, Base, engine=None if db.kind == "sqlite-per-value" else db.engine)
    with db.session() as s, pytest.raises(KeyStateError) as e:
        s.get(Customer, 1)
    assert "retired" in str(e.value) and "column name" in str(e.value)
    fresh.close()


def _reconfigure(db: Db, ring: KeyRing) -> Vault:
    fresh = Vault(ring)  # no cached key versions
    configure(fresh, Base, engine=None if db.kind == "sqlite-per-value" else db.engine)
    return fresh


def test_index_key_rotation_finds_old_and_new_rows(db: Db, ring: KeyRing) -> None:
    """Issue 11, defect 2 (a): during an index-key transition, rows indexed under the old and
    the new version are both found, by the ORM and by Core, with == and matches()."""
    old = [sample(i) for i in range(1, 4)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in old)
        s.commit()
    assert ring.rotate_key("customers.id_no.bidx") == 2
    assert ring.rotate_key("customers.mobile_year.bidx") == 2
    fresh = _reconfigure(db, ring)
    new = [sample(i) for i in range(4, 7)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in new)
        s.commit()
    with db.engine.connect() as conn:
        stored = dict(conn.execute(select(Customer.id, Customer.id_no_bidx)).all())
    # the new rows are indexed under v2: their index differs from the v1 index of their value
    v1 = ring.key_version("customers.id_no.bidx", 1)
    assert v1.version == 1 and stored[4] != stored[1]
    for r in (old[0], new[0], old[2], new[2]):
        with db.session() as s:
            assert (
                s.scalars(select(Customer).where(Customer.id_no == r["id_no"])).one().id == r["id"]
            )
            by_pair = s.scalars(
                select(Customer.id).where(Customer.mobile_year.matches(r["mobile"], r["birth"]))
            ).all()
            assert r["id"] in by_pair
        with db.engine.connect() as conn:
            got = conn.execute(
                select(Customer.__table__.c.id).where(Customer.__table__.c.id_no == r["id_no"])
            ).scalars()
            assert list(got) == [r["id"]]
    with db.session() as s:
        both = s.scalars(
            select(Customer.id).where(Customer.id_no.in_([old[1]["id_no"], new[1]["id_no"]]))
        ).all()
        assert sorted(both) == [old[1]["id"], new[1]["id"]]
    fresh.close()


def test_search_needing_a_retired_index_version_raises(db: Db, ring: KeyRing) -> None:
    """Issue 11, defect 2 (d): after the old index version is retired with rows still indexed
    under it, a search for one of those rows raises KeyStateError naming key, version and the
    fix, instead of returning nothing; searches for rows indexed under the primary still work."""
    old = sample(1)
    with db.session() as s:
        s.add(Customer(**old))
        s.commit()
    ring.rotate_key("customers.id_no.bidx")
    fresh = _reconfigure(db, ring)
    new = sample(2)
    with db.session() as s:
        s.add(Customer(**new))
        s.commit()
    ring.retire_version("customers.id_no.bidx", 1)
    fresh.close()
    fresh = _reconfigure(db, ring)
    expected = r"version 1 of key 'customers\.id_no\.bidx'.*retired.*vaultkit reencrypt"
    with db.session() as s, pytest.raises(KeyStateError, match=expected) as e:
        s.scalars(select(Customer).where(Customer.id_no == old["id_no"])).all()
    assert old["id_no"] not in str(e.value) and "vk_customers" in str(e.value)
    with db.engine.connect() as conn, pytest.raises(KeyStateError, match=expected):
        conn.execute(select(Customer.id).where(Customer.id_no.in_([old["id_no"]]))).all()
    with db.session() as s, pytest.raises(KeyStateError, match=expected):  # candidates too
        s.scalars(
            select(Customer.id).where(Customer.id_no == old["id_no"]),
            execution_options={"vaultkit_candidates": True},
        ).all()
    with db.session() as s:  # a row indexed under the primary version: found as usual
        assert s.scalars(select(Customer.id).where(Customer.id_no == new["id_no"])).all() == [2]
        assert s.scalars(select(Customer.id).where(Customer.id_no == "nobody")).all() == []
    # once the index is rebuilt under the primary version, the old row is found again
    with db.session() as s:
        c = s.get(Customer, 1)
        assert c is not None
        c.id_no_bidx = Customer.__table__.c.id_no_bidx.type.compute((old["id_no"],))
        s.commit()
    with db.session() as s:
        assert s.scalars(select(Customer.id).where(Customer.id_no == old["id_no"])).all() == [1]
    fresh.close()


def _stored_cards(db: Db) -> dict[int, str]:
    with db.engine.connect() as conn:
        return dict(conn.exec_driver_sql("SELECT id, card_no FROM vk_customers").all())


def test_token_key_rotation_finds_old_and_new_rows(db: Db, ring: KeyRing) -> None:
    """During a token-key transition, rows tokenized under the old and the new version are both
    found, by the ORM and by Core, with ==, IN and !=."""
    old = [sample(i) for i in range(1, 4)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in old)
        s.commit()
    assert ring.rotate_key("customers.card") == 2
    fresh = _reconfigure(db, ring)
    new = [sample(i) for i in range(4, 7)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in new)
        s.commit()
    assert {i: c.split(":")[0] for i, c in _stored_cards(db).items()} == {
        1: "1",
        2: "1",
        3: "1",
        4: "2",
        5: "2",
        6: "2",
    }
    t = Customer.__table__
    for r in (old[0], new[0], old[2], new[2]):
        with db.session() as s:
            assert (
                s.scalars(select(Customer).where(Customer.card_no == r["card_no"])).one().id
                == (r["id"])
            )
        with db.engine.connect() as conn:
            assert conn.execute(
                select(t.c.id).where(t.c.card_no == r["card_no"])
            ).scalars().all() == [r["id"]]
    cards = [old[1]["card_no"], new[1]["card_no"]]
    with db.session() as s:
        assert sorted(s.scalars(select(Customer.id).where(Customer.card_no.in_(cards)))) == [2, 5]
        others = s.scalars(select(Customer.id).where(Customer.card_no.not_in(cards))).all()
        assert sorted(others) == [1, 3, 4, 6]
    with db.engine.connect() as conn:
        got = conn.execute(select(t.c.id).where(t.c.card_no.in_(cards))).scalars().all()
        assert sorted(got) == [2, 5]
    fresh.close()


def test_search_needing_a_retired_token_version_raises(db: Db, ring: KeyRing) -> None:
    """After the old token version is retired with rows still tokenized under it, a search for
    one of those rows raises KeyStateError naming key, version and the fix (no value), instead
    of returning nothing; once the rows are moved to the primary version, it finds them again."""
    old, other = sample(1), sample(3)
    with db.session() as s:
        s.add_all([Customer(**old), Customer(**other)])
        s.commit()
    ring.rotate_key("customers.card")
    fresh = _reconfigure(db, ring)
    new = sample(2)
    with db.session() as s:
        s.add(Customer(**new))
        s.commit()
    old_stored = _stored_cards(db)[1]
    assert old_stored.startswith("1:")
    ring.retire_version("customers.card", 1)
    fresh.close()
    fresh = _reconfigure(db, ring)
    expected = (
        r"^table vk_customers, column card_no: rows holding the value are tokenized under "
        r"version 1 of key 'customers\.card', which is retired, so searches no longer find them; "
        r"re-activate the version \(vaultkit key activate\), move the tokens to the primary "
        r"version \(vaultkit reencrypt --format, docs/cli\.md\), then retire it again$"
    )
    with db.session() as s, pytest.raises(KeyStateError, match=expected) as e:
        s.scalars(select(Customer).where(Customer.card_no == old["card_no"])).all()
    message = str(e.value)
    assert old["card_no"] not in message and old_stored.split(":")[1] not in message
    assert e.value.__cause__ is None and e.value.__context__ is None
    t = Customer.__table__
    with db.engine.connect() as conn, pytest.raises(KeyStateError, match=expected):
        conn.execute(select(t.c.id).where(t.c.card_no.in_([new["card_no"], old["card_no"]]))).all()
    with db.session() as s, pytest.raises(KeyStateError, match=expected):  # != misses it too
        s.scalars(select(Customer.id).where(Customer.card_no != old["card_no"])).all()
    with db.session() as s, pytest.raises(KeyStateError, match=expected):  # candidates too
        s.scalars(
            select(Customer.id).where(Customer.card_no == old["card_no"]),
            execution_options={"vaultkit_candidates": True},
        ).all()
    with db.engine.begin() as conn, pytest.raises(KeyStateError, match=expected):  # DML too
        conn.execute(update(t).where(t.c.card_no == old["card_no"]).values(plain="x"))
    with db.session() as s, pytest.raises(KeyStateError, match=expected):
        s.execute(delete(Customer).where(Customer.card_no.in_([old["card_no"]])))
    with db.session() as s:  # a row tokenized under the primary version: found as usual
        assert s.scalars(select(Customer.id).where(Customer.card_no == new["card_no"])).all() == [2]
        nobody = sample(99)["card_no"]
        assert s.scalars(select(Customer.id).where(Customer.card_no == nobody)).all() == []
    # the row moved to the primary version (re-saved through the ORM): found again, v1 retired
    with db.session() as s:
        c = s.get(Customer, 1, options=[defer(Customer.card_no)])
        assert c is not None
        c.card_no = old["card_no"]
        s.commit()
    assert _stored_cards(db)[1].startswith("2:")
    with db.session() as s:
        assert s.scalars(select(Customer.id).where(Customer.card_no == old["card_no"])).all() == [1]
        assert s.scalars(select(Customer).where(Customer.card_no == old["card_no"])).one().id == 1
    with db.engine.connect() as conn:
        got = conn.execute(select(t.c.id).where(t.c.card_no.in_([old["card_no"]]))).scalars()
        assert list(got) == [1]
    # the error's fix for the rest: activate, vaultkit reencrypt --format, retire again
    with db.session() as s, pytest.raises(KeyStateError, match=expected):
        s.scalars(select(Customer.id).where(Customer.card_no == other["card_no"])).all()
    ring.activate_version("customers.card", 1)
    fresh.close()
    fresh = _reconfigure(db, ring)
    Reencryptor(
        db.engine,
        fresh,
        table="vk_customers",
        columns=["card_no"],
        key_name="customers.card",
        token_format="card",
    ).run()
    assert {c.split(":")[0] for c in _stored_cards(db).values()} == {"2"}
    ring.retire_version("customers.card", 1)
    fresh.close()
    fresh = _reconfigure(db, ring)
    with db.session() as s:
        cards = [old["card_no"], new["card_no"], other["card_no"]]
        assert sorted(s.scalars(select(Customer.id).where(Customer.card_no.in_(cards)))) == [
            1,
            2,
            3,
        ]
    fresh.close()
