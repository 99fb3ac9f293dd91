"""The ORM's check under retired versions asks the Vault (``retired_index_candidates``,
``retired_token_candidates``), the one path an in-process Vault and a RemoteVault share
(tests/service/test_retired_search.py): with a local Vault the stored forms it probes for are
exactly what the retired version wrote, and no call is made while no version is retired."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import select

from tests.ext._support import Db, sample
from tests.ext.models import Base, Customer
from vaultkit.blindindex import Compound
from vaultkit.envelope._internal import Context
from vaultkit.errors import KeyStateError
from vaultkit.ext.sqlalchemy import configure
from vaultkit.keys import KeyRing
from vaultkit.vault import Vault


class _Counting(Vault):
    """A Vault that counts the ORM's calls for retired candidates."""

    __slots__ = ("asked",)

    def __init__(self, ring: KeyRing) -> None:
        super().__init__(ring)
        self.asked: list[str] = []

    def retired_index_candidates(
        self,
        key_name: str,
        value: object,
        *,
        context: Context,
        bits: int,
        kind: str | Compound | None = None,
    ) -> list[tuple[int, bytes]]:
        self.asked.append(key_name)
        return super().retired_index_candidates(
            key_name, value, context=context, bits=bits, kind=kind
        )

    def retired_token_candidates(
        self, key_name: str, values: Sequence[str], *, format: str, context: Context
    ) -> list[tuple[int, str]]:
        self.asked.append(key_name)
        return super().retired_token_candidates(key_name, values, format=format, context=context)


def _stored(db: Db, column: str) -> dict[int, object]:
    with db.engine.connect() as conn:
        return dict(conn.exec_driver_sql(f"SELECT id, {column} FROM vk_customers").all())


def test_local_search_asks_the_vault_for_what_the_retired_version_wrote(
    db: Db, ring: KeyRing
) -> None:
    old = sample(1)
    with db.session() as s:
        s.add(Customer(**old))
        s.commit()
    stored_index, stored_card = _stored(db, "id_no_bidx")[1], _stored(db, "card_no")[1]
    for key in ("customers.id_no.bidx", "customers.card"):
        ring.rotate_key(key)
    vault = _Counting(ring)
    configure(vault, Base, engine=None if db.kind == "sqlite-per-value" else db.engine)
    with db.session() as s:  # no retired version: found, and no call for retired candidates
        assert s.scalars(select(Customer.id).where(Customer.id_no == old["id_no"])).all() == [1]
        assert s.scalars(select(Customer.id).where(Customer.card_no == old["card_no"])).all() == [1]
    assert vault.asked == []
    for key in ("customers.id_no.bidx", "customers.card"):
        ring.retire_version(key, 1)
    ctx = {"table": "vk_customers", "column": "card_no"}
    got = vault.retired_token_candidates(
        "customers.card", [str(old["card_no"])], format="card", context=ctx
    )
    assert [f"{v}:{t}" for v, t in got] == [stored_card]  # what version 1 wrote, as stored
    index_type = Customer.__table__.c.id_no_bidx.type
    assert index_type.retired_candidates((old["id_no"],)) == [(1, bytes(stored_index))]
    vault.asked.clear()
    for column in ("id_no", "card_no"):
        with db.session() as s, pytest.raises(KeyStateError, match="retired"):
            s.scalars(select(Customer.id).where(getattr(Customer, column) == old[column])).all()
    assert vault.asked == ["customers.id_no.bidx", "customers.card"]
    # and a write under the retired version is still refused
    with pytest.raises(KeyStateError):
        vault.tokenize("customers.card", str(old["card_no"]), format="card", context=ctx, version=1)
    vault.close()
