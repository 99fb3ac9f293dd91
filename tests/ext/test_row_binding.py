"""Row binding (issue 12, defect 4; docs/sqlalchemy.md, "Context binding").

``bind_row="auto"`` (the default) binds a column to its row's primary key when the client
assigns the key before the INSERT, so a ciphertext copied to another row by raw SQL does not
decrypt there; a database-assigned key leaves the column unbound (and the catalogue says so).
``read_unbound=True`` lets a column declared row-bound read the values written before, so
binding can be switched on in place and the rows rebound, with no data made unreadable."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import flag_modified

from tests.ext._support import Db
from vaultkit.catalog import load
from vaultkit.errors import DecryptionError, RowBindingError, UnboundValueError, VaultkitTypeError
from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, configure
from vaultkit.vault import Vault

NAMES = {1: "张三", 2: "李四", 3: "王五"}


def _model(*, autoincrement: bool = False, **encrypted: Any) -> tuple[type, type]:
    class Base(DeclarativeBase):
        pass

    class Holder(Base):
        __tablename__ = "vk_rebind"
        id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=autoincrement)
        name = mapped_column(Encrypted("customers.name", searchable=True, **encrypted))
        name_bidx = mapped_column(BlindIndex("customers.id_no.bidx", source="name", bits=8))

    return Base, Holder


@pytest.fixture
def legacy(db: Db, vault: Vault) -> Iterator[None]:
    """Rows written by the application before row binding (as vaultkit < 0.9 wrote them by
    default, or bind_row=False today)."""
    base, holder = _model(bind_row=False)
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


def _write(db: Db, vault: Vault, **encrypted: Any) -> tuple[type, type]:
    base, holder = _model(**encrypted)
    configure(vault, base)
    base.metadata.create_all(db.engine)
    with Session(db.engine) as s:
        s.add_all(holder(id=i, name=n) for i, n in NAMES.items())
        s.commit()
    return base, holder


def test_a_ciphertext_copied_to_another_row_does_not_decrypt_by_default(
    db: Db, vault: Vault
) -> None:
    """Defect 4: the threat model's "a ciphertext moved to another row does not decrypt" held
    only for columns declared bind_row=True. With a client-assigned key it is the default."""
    base, holder = _write(db, vault)
    try:
        _swap(db)  # raw SQL: row 1's ciphertext copied into row 2
        with Session(db.engine) as s:
            assert s.get(holder, 1).name == NAMES[1]  # type: ignore[union-attr]
            with pytest.raises(DecryptionError, match="primary key 2") as e:
                s.get(holder, 2)
        chain = [e.value, e.value.__context__, e.value.__cause__]
        assert not any(NAMES[1] in repr(x) for x in chain)
    finally:
        base.metadata.drop_all(db.engine)


def test_read_unbound_is_for_row_bound_columns() -> None:
    with pytest.raises(VaultkitTypeError, match="row-bound"):
        Encrypted("k", bind_row=False, read_unbound=True)
    Encrypted("k", read_unbound=True)  # "auto": for the key the client assigns


def test_switching_an_existing_column_to_row_binding(db: Db, vault: Vault, legacy: None) -> None:
    # declared row-bound without read_unbound, the existing rows do not open: a typed error
    # naming the fix, never a value
    base, strict = _model(bind_row=True)
    configure(vault, base)
    with Session(db.engine) as s, pytest.raises(UnboundValueError, match="primary key 1"):
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


# -- bind_row="auto": what it binds ------------------------------------------------------------
def _declared(**column: Any) -> Any:
    """The resolved row key of a column declared with the default on a key declared so."""

    class Base(DeclarativeBase):
        pass

    class T(Base):
        __tablename__ = "vk_auto"
        id = mapped_column(primary_key=True, **column)
        name = mapped_column(Encrypted("customers.name"))

    return Base, T


@pytest.mark.parametrize(
    ("column", "bound"),
    [
        ({"type_": Integer, "autoincrement": False}, True),  # assigned in code
        ({"type_": String(36), "default": lambda: str(uuid.uuid4())}, True),  # computed first
        ({"type_": String(8), "default": "fixed"}, True),
        ({"type_": Integer}, False),  # autoincrement: the database assigns it
        ({"type_": Integer, "autoincrement": True}, False),
        ({"type_": Integer, "server_default": "7"}, False),
        ({"type_": Integer, "autoincrement": False, "default": lambda ctx: 1}, False),
    ],
)
def test_auto_binds_a_key_the_client_assigns_only(
    vault: Vault, column: dict[str, Any], bound: bool
) -> None:
    base, model = _declared(**column)
    configure(vault, base)
    assert model.__table__.c.name.type.row_key == (() if bound else None)


def test_auto_computes_a_python_default_key_before_sealing(db: Db, vault: Vault) -> None:
    """default=uuid4 on the key: the ORM assigns it before sealing, so the value is bound to the
    key the row really gets (the copy to another row fails), with no id given in code."""
    base, model = _declared(type_=String(36), default=lambda: str(uuid.uuid4()))
    configure(vault, base)
    base.metadata.create_all(db.engine)
    try:
        with Session(db.engine) as s:
            s.add_all([model(name="张三"), model(name="李四")])
            s.commit()
            ids = sorted(s.scalars(select(model.id)))
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                f"UPDATE vk_auto SET name = (SELECT name FROM vk_auto WHERE id = '{ids[0]}') "
                f"WHERE id = '{ids[1]}'"
            )
        with Session(db.engine) as s:
            assert s.get(model, ids[0]).name in ("张三", "李四")  # type: ignore[union-attr]
            with pytest.raises(DecryptionError):
                s.get(model, ids[1])
    finally:
        base.metadata.drop_all(db.engine)


def test_an_autoincrement_key_stays_unbound_and_the_catalogue_says_so(db: Db, vault: Vault) -> None:
    """The documented rule: a database-assigned key cannot be bound at INSERT, so "auto" leaves
    the column unbound (writes work as before) and the catalogue records it unbound (what
    `vaultkit scan` reports)."""
    base, model = _model(autoincrement=True)
    configure(vault, base, engine=db.engine)
    base.metadata.create_all(db.engine)
    try:
        with Session(db.engine) as s:
            s.add_all(model(name=n) for n in NAMES.values())
            s.commit()
        _swap(db)
        with Session(db.engine) as s:
            assert s.get(model, 2).name == NAMES[1]  # type: ignore[union-attr]  # not bound
        entry = {c.column: c for c in load(db.engine, table="vk_rebind") or []}["name"]
        assert entry.row_key is None
    finally:
        base.metadata.drop_all(db.engine)


def test_core_multi_row_insert_seals_bound_columns_under_their_rows(db: Db, vault: Vault) -> None:
    """The engine's batch path seals a row-bound column per row when each parameter set gives
    the key; a single-row Core insert (no batch path) is refused, naming the ORM."""
    base, holder = _model()
    configure(vault, base, **({} if db.kind == "sqlite-per-value" else {"engine": db.engine}))
    base.metadata.create_all(db.engine)
    try:
        table = holder.__table__
        rows = [{"id": i, "name": n} for i, n in NAMES.items()]
        if db.kind == "sqlite-per-value":
            with db.engine.begin() as conn, pytest.raises(Exception, match="row-bound"):
                conn.execute(table.insert(), rows)
            return
        with db.engine.begin() as conn:
            conn.execute(table.insert(), rows)
        with Session(db.engine) as s:
            assert {h.id: h.name for h in s.scalars(select(holder))} == NAMES
        _swap(db)
        with Session(db.engine) as s, pytest.raises(DecryptionError, match="primary key 2"):
            s.get(holder, 2)
    finally:
        base.metadata.drop_all(db.engine)


# -- upgrades: data written unbound, a model now bound by default ------------------------------
def test_upgrade_without_the_catalogue_fails_typed_and_names_the_fix(
    db: Db, vault: Vault, legacy: None
) -> None:
    """Rows written unbound, read by the same model with the new default: never wrong data, a
    typed error naming read_unbound and `reencrypt --bind-row`."""
    base, holder = _model()  # bind_row="auto" on a client-assigned key: bound
    configure(vault, base)
    with Session(db.engine) as s, pytest.raises(UnboundValueError) as e:
        s.get(holder, 1)
    msg = str(e.value)
    assert "primary key 1" in msg and "read_unbound=True" in msg and "--bind-row" in msg
    assert NAMES[1] not in msg and e.value.__context__ is None and e.value.__cause__ is None
    assert isinstance(e.value, DecryptionError)  # existing handlers still catch it
    assert str(pickle.loads(pickle.dumps(e.value))) == msg  # crosses process boundaries
    # a value that opens under neither context stays the opaque error
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE vk_rebind SET name = NULL WHERE id = 3")
    with Session(db.engine) as s:
        assert s.get(holder, 3).name is None  # type: ignore[union-attr]


def test_upgrade_with_the_catalogue_fails_at_configure(db: Db, vault: Vault) -> None:
    """With configure(engine=...), the catalogue says the stored values are unbound: the model
    that now binds them is refused at start-up (RowBindingError naming the fix); with
    read_unbound it starts, reads every row, and the catalogue keeps saying unbound."""
    old, holder = _model(bind_row=False)
    configure(vault, old, engine=db.engine)
    old.metadata.create_all(db.engine)
    try:
        with Session(db.engine) as s:
            s.add_all(holder(id=i, name=n) for i, n in NAMES.items())
            s.commit()
        new, _ = _model()
        with pytest.raises(RowBindingError, match="read_unbound=True") as e:
            configure(vault, new, engine=db.engine)
        assert "vaultkit reencrypt --table vk_rebind --column name --bind-row" in str(e.value)
        migrating, holder = _model(read_unbound=True)
        configure(vault, migrating, engine=db.engine)
        with Session(db.engine) as s:
            assert {h.id: h.name for h in s.scalars(select(holder))} == NAMES
        entry = {c.column: c for c in load(db.engine, table="vk_rebind") or []}["name"]
        assert entry.row_key is None  # its values may still be unbound
        # the other direction: a model that unbinds a column recorded bound
        from vaultkit.catalog import ProtectedColumn, Protection, record

        record(
            db.engine,
            [
                ProtectedColumn(
                    "vk_rebind",
                    "name",
                    Protection.ENCRYPTED,
                    "customers.name",
                    detail="binary",
                    row_key=(),
                )
            ],
        )
        with pytest.raises(RowBindingError, match="not row-bound"):
            configure(vault, old, engine=db.engine)
    finally:
        old.metadata.drop_all(db.engine)
    # an empty (re-created) table has no stored value to misread: its binding is recorded anew
    configure(vault, old, engine=db.engine)


def test_an_error_masks_a_natural_row_key(db: Db, vault: Vault) -> None:
    """A row key that is itself personal data (an account number as the primary key) is named
    in the error masked to its last 4 characters: messages reach logs, the key must not."""

    class Base(DeclarativeBase):
        pass

    class Account(Base):
        __tablename__ = "vk_natural"
        account_no: Mapped[str] = mapped_column(String(32), primary_key=True)
        name = mapped_column(Encrypted("customers.name"))

    configure(vault, Base)
    Base.metadata.create_all(db.engine)
    first, second = "6222021234567890123", "6222029876543210987"
    try:
        with Session(db.engine) as s:
            s.add_all(
                [Account(account_no=first, name="张三"), Account(account_no=second, name="李四")]
            )
            s.commit()
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE vk_natural SET name = (SELECT name FROM vk_natural "
                f"WHERE account_no = '{first}') WHERE account_no = '{second}'"
            )
        with Session(db.engine) as s, pytest.raises(DecryptionError) as e:
            s.get(Account, second)
        chain = [e.value, e.value.__context__, e.value.__cause__]
        assert "primary key ***************0987" in str(e.value)
        assert not any(key in repr(x) for x in chain for key in (first, second, "张三"))
    finally:
        Base.metadata.drop_all(db.engine)
