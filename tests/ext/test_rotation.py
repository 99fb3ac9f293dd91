"""Key rotation while the application runs: old rows load, new rows use the new version, and
searches (blind index and tokens) find both."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from tests.ext._support import Db, sample
from tests.ext.models import KEYS, Base, Customer
from vaultkit import envelope
from vaultkit.errors import KeyStateError
from vaultkit.ext.sqlalchemy import configure
from vaultkit.keys import KeyRing, LocalKMS
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
