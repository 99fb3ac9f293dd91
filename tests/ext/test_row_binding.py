"""Moving an existing column to row binding (issue 12, defect 4): ``bind_row`` stays off by
default (docs/sqlalchemy.md, "Context binding"); ``read_unbound=True`` lets a column declared
row-bound read the values written before, so binding can be switched on in place and the rows
rebound by an ORM pass, with no data made unreadable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Integer, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import flag_modified

from tests.ext._support import Db
from vaultkit.errors import DecryptionError, VaultkitTypeError
from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, configure
from vaultkit.vault import Vault

NAMES = {1: "张三", 2: "李四", 3: "王五"}


def _model(**encrypted: Any) -> tuple[type, type]:
    class Base(DeclarativeBase):
        pass

    class Holder(Base):
        __tablename__ = "vk_rebind"
        id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
        name = mapped_column(Encrypted("customers.name", searchable=True, **encrypted))
        name_bidx = mapped_column(BlindIndex("customers.id_no.bidx", source="name", bits=8))

    return Base, Holder


@pytest.fixture
def legacy(db: Db, vault: Vault) -> Iterator[None]:
    """Rows written by the application before row binding (the default, bind_row=False)."""
    base, holder = _model()
    configure(vault, base)
    base.metadata.create_all(db.engine)
    with Session(db.engine) as s:
        s.add_all(holder(id=i, name=n) for i, n in NAMES.items())
        s.commit()
    yield
    base.metadata.drop_all(db.engine)


def _swap(db: Db) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE vk_rebind SET name = (SELECT name FROM vk_rebind WHERE id = 1) WHERE id = 2"
        )


def test_read_unbound_is_for_row_bound_columns() -> None:
    with pytest.raises(VaultkitTypeError, match="row-bound"):
        Encrypted("k", read_unbound=True)


def test_switching_an_existing_column_to_row_binding(db: Db, vault: Vault, legacy: None) -> None:
    # declared row-bound without read_unbound, the existing rows do not open: the reason the
    # default was not changed under stored data
    base, strict = _model(bind_row=True)
    configure(vault, base)
    with Session(db.engine) as s, pytest.raises(DecryptionError, match="primary key 1"):
        s.get(strict, 1)

    base, holder = _model(bind_row=True, read_unbound=True)
    configure(vault, base)
    with Session(db.engine) as s:
        assert {h.id: h.name for h in s.scalars(select(holder))} == NAMES
        assert s.scalars(select(holder.id).where(holder.name == "李四")).all() == [2]
    # the rebinding pass: every row written again, now under its own row
    with Session(db.engine) as s:
        for h in s.scalars(select(holder)):
            flag_modified(h, "name")
        s.commit()
    with Session(db.engine) as s:
        assert {h.id: h.name for h in s.scalars(select(holder))} == NAMES
    # rebound: strict declarations read them, and a value moved to another row fails there
    base, strict = _model(bind_row=True)
    configure(vault, base)
    _swap(db)
    with Session(db.engine) as s:
        assert s.get(strict, 1).name == NAMES[1]  # type: ignore[union-attr]
        with pytest.raises(DecryptionError, match="primary key 2") as e:
            s.get(strict, 2)
    chain = [e.value, e.value.__context__, e.value.__cause__]
    assert not any(NAMES[1] in repr(x) for x in chain)
    with Session(db.engine) as s, pytest.raises(DecryptionError):  # read_unbound does not
        base, holder = _model(bind_row=True, read_unbound=True)  # open a moved bound value
        configure(vault, base)
        s.get(holder, 2)


def test_unbound_values_still_move_until_rebound(db: Db, vault: Vault, legacy: None) -> None:
    """What read_unbound costs during the transition (documented): a not yet rebound value
    copied to another row still opens there, as it did before."""
    base, holder = _model(bind_row=True, read_unbound=True)
    configure(vault, base)
    _swap(db)
    with Session(db.engine) as s:
        assert s.get(holder, 2).name == NAMES[1]  # type: ignore[union-attr]
