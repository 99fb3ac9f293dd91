"""The SQLAlchemy types run under the Vault given to ``configure``: an ORM read by a principal
without ``decrypt`` is refused (and recorded), a principal with it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tests.access.conftest import kms
from vaultkit import Vault
from vaultkit.errors import AccessDeniedError
from vaultkit.ext.sqlalchemy import Encrypted, Protected, Tokenized, configure
from vaultkit.keys import KeyRing

ID_NO, CARD = "11010519491231002X", "6222021234567890128"


def _model() -> tuple[type, type]:
    class Base(DeclarativeBase):
        pass

    class Customer(Protected, Base):
        __tablename__ = "customers"
        id: Mapped[int] = mapped_column(primary_key=True)
        id_no = mapped_column(Encrypted("customers.id_no", kind="cn_id"))
        card_no = mapped_column(Tokenized("customers.card_token", format="card"))

    return Base, Customer


def _session(vault: Vault, db: Path) -> tuple[Session, type]:
    base, customer = _model()
    engine = create_engine(f"sqlite:///{db}", hide_parameters=True)
    configure(vault, base, engine=engine)
    base.metadata.create_all(engine)
    return Session(engine), customer


def test_an_orm_read_without_decrypt_is_denied(ring_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "app.sqlite"
    events: list[Any] = []
    with KeyRing.open(ring_path, kms()) as ring:
        ring.grant("loader", keys="customers.*", operations={"encrypt", "tokenize"})
        ring.grant("teller", keys="customers.*", operations={"reveal_masked"})
        ring.grant("auditor", keys="customers.*", operations={"decrypt", "detokenize"})
        with Vault(ring, principal="loader") as loader:
            s, customer = _session(loader, db)
            with s:
                s.add(customer(id=1, id_no=ID_NO, card_no=CARD))
                s.commit()
                # the loader may write, not read back
                with pytest.raises(AccessDeniedError) as info:
                    s.scalars(select(customer.id_no)).all()
                assert info.value.principal == "loader"
        with Vault(ring, principal="teller", audit=events.append) as teller:
            s, customer = _session(teller, db)
            with s, pytest.raises(AccessDeniedError) as info:
                row = s.get(customer, 1)
                row.id_no  # the read decrypts
            assert (info.value.operation, info.value.key) == ("decrypt", "customers.id_no")
            assert ID_NO not in repr(info.value) and ID_NO not in repr(info.value.__context__)
            assert any(e.outcome == "denied" and e.principal == "teller" for e in events)
        with Vault(ring, principal="auditor") as auditor:
            s, customer = _session(auditor, db)
            with s:
                row = s.get(customer, 1)
                assert (row.id_no, row.card_no) == (ID_NO, CARD)
