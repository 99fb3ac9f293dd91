"""``masked(...)`` under least privilege (docs/access.md): a principal granted only
``reveal_masked`` reads masked values of encrypted (column- and row-bound) and tokenized
columns through ``decrypt_masked`` / ``detokenize_masked``; it needs neither ``decrypt`` nor
``detokenize``, and the plaintext never reaches it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Integer, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Session, defer, mapped_column

from vaultkit import Vault
from vaultkit.audit import Trail, read
from vaultkit.errors import AccessDeniedError
from vaultkit.ext.sqlalchemy import Encrypted, Protected, Tokenized, configure
from vaultkit.keys import KeyRing, LocalKMS

ID_NO, CARD, MOBILE = "11010519491231002X", "6222021234567890128", "13812345678"


class Base(DeclarativeBase):
    pass


class Person(Protected, Base):
    __tablename__ = "vk_masked_people"

    id = mapped_column(Integer, primary_key=True, autoincrement=False)
    id_no = mapped_column(Encrypted("people.id_no", kind="cn_id", bind_row=False))
    mobile = mapped_column(Encrypted("people.id_no", kind="mobile", storage="text", bind_row=True))
    card_no = mapped_column(Tokenized("people.card", format="card"))


@pytest.fixture
def ring(tmp_path: Path) -> Iterator[KeyRing]:
    ring = KeyRing.create(tmp_path / "ring.vk", LocalKMS(passphrase="pw", scrypt_n=2**10))
    ring.create_key("people.id_no")
    ring.create_key("people.card", algorithm="FF1-SM4")
    yield ring
    ring.close()


def test_masked_reads_need_only_the_reveal_masked_grant(ring: KeyRing, tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.sqlite'}", hide_parameters=True)
    Base.metadata.create_all(engine)
    with Vault(ring) as loader:  # before any grant: the ring is not access-controlled yet
        configure(loader, Base)
        with Session(engine) as s:
            s.add(Person(id=1, id_no=ID_NO, mobile=MOBILE, card_no=CARD))
            s.commit()
    ring.grant("teller-app", keys="people.*", operations={"reveal_masked"})
    trail = Trail.open(tmp_path / "audit.jsonl", ring)
    try:
        with Vault(ring, principal="teller-app", audit=trail) as teller:
            configure(teller, Base)
            protected = (Person.id_no, Person.mobile, Person.card_no)
            with Session(engine) as s:
                # loading the plaintext needs decrypt: refused
                with pytest.raises(AccessDeniedError):
                    s.scalars(select(Person)).one()
            with Session(engine) as s:
                p = s.scalars(select(Person).options(*(defer(c) for c in protected))).one()
                assert p.masked("id_no") == "110105********002X"
                assert p.masked("mobile") == "138****5678"  # row-bound: under its row
                assert p.masked("card_no") == "622202*********0128"
                for attr in ("id_no", "mobile", "card_no"):
                    assert attr not in p.__dict__  # nothing loaded: no plaintext in the instance
    finally:
        trail.close()
        engine.dispose()
    done = [(r.operation, r.outcome) for r in read(tmp_path / "audit.jsonl")]
    assert ("decrypt_masked", "ok") in done and ("detokenize_masked", "ok") in done
    assert ("decrypt", "ok") not in done and ("detokenize", "ok") not in done


def test_a_loaded_value_is_masked_where_it_is(ring: KeyRing, tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.sqlite'}", hide_parameters=True)
    Base.metadata.create_all(engine)
    try:
        with Vault(ring) as vault:
            configure(vault, Base)
            with Session(engine) as s:
                s.add(Person(id=2, id_no=ID_NO, mobile=MOBILE, card_no=CARD))
                s.commit()
            with Session(engine) as s:
                p = s.scalars(select(Person)).one()
                assert p.mobile == MOBILE  # loaded
                assert p.masked("mobile") == "138****5678"
                assert p.masked("id_no") == "110105********002X"
                pending = Person(id=3, id_no=ID_NO, mobile=MOBILE)
                assert pending.masked("id_no") == "110105********002X"  # not persistent yet
                assert pending.masked("card_no") is None
    finally:
        engine.dispose()
