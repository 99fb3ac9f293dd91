"""The plans of a model's declarations resolve ``bind_row="auto"`` as ``configure`` does, also
for a model nothing configured (a Spark job's): bound to the primary key when the client assigns
it, unbound when the database does. Without a model (``columns=``), ``"auto"`` is resolved by
``configure`` or the catalogue, or refused. (No SparkSession needed.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, mapped_column

from vaultkit import Vault
from vaultkit.catalog import ProtectedColumn, Protection, record
from vaultkit.errors import RowBindingError, VaultkitTypeError
from vaultkit.ext.spark._plan import EncryptOp, plan
from vaultkit.ext.sqlalchemy import Encrypted, configure
from vaultkit.keys import KeyRing, LocalKMS


def _model(client_key: bool) -> Any:
    class Base(DeclarativeBase):
        pass

    class Row(Base):
        __tablename__ = "vk_plan_rows"
        id = mapped_column(sa.Integer, primary_key=True, autoincrement=not client_key)
        auto = mapped_column(Encrypted("k.auto"))
        unbound = mapped_column(Encrypted("k.unbound", bind_row=False))

    return Row


@pytest.fixture
def plan_vault(tmp_path: Path) -> Iterator[Vault]:
    ring = KeyRing.create(tmp_path / "ring.vk", LocalKMS(passphrase="plan", scrypt_n=2**10))
    for name in ("k.auto", "k.unbound"):
        ring.create_key(name)
    with Vault(ring) as vault:
        yield vault


def _row_keys(model: Any) -> dict[str, object]:
    return {
        op.column: op.row_key
        for op in plan(columns=None, model=model, table=None, pk=None)
        if isinstance(op, EncryptOp)
    }


def test_auto_is_the_primary_key_when_the_client_assigns_it() -> None:
    model = _model(client_key=True)
    assert model.__table__.c.auto.type.row_key is None  # (not configured)
    assert _row_keys(model) == {"auto": ("id",), "unbound": None}


def test_auto_is_unbound_when_the_database_assigns_the_key() -> None:
    assert _row_keys(_model(client_key=False)) == {"auto": None, "unbound": None}


# -- the columns= form: no table to look at ----------------------------------------------------
def _one(declaration: Encrypted, **kw: Any) -> EncryptOp:
    (op,) = plan(columns={"secret": declaration}, model=None, table="vk_plan_rows", **kw)
    assert isinstance(op, EncryptOp)
    return op


def test_an_unresolved_auto_is_refused_naming_the_column_and_the_fixes() -> None:
    for pk in (None, "id"):  # pk= alone cannot tell whether the client assigns the key
        with pytest.raises(RowBindingError) as info:
            _one(Encrypted("k.auto"), pk=pk)
        message = str(info.value)
        assert "table vk_plan_rows, column secret" in message
        for fix in ("model=", "configure", "catalog=", "bind_row=True", "bind_row=False"):
            assert fix in message


def test_explicit_bindings_are_taken_as_declared() -> None:
    assert _one(Encrypted("k", bind_row=False), pk=None).row_key is None
    assert _one(Encrypted("k", bind_row=True), pk="id").row_key == ("id",)
    assert _one(Encrypted("k", bind_row="acct"), pk=None).row_key == ("acct",)
    with pytest.raises(VaultkitTypeError, match="row-bound to the primary key: give pk="):
        _one(Encrypted("k", bind_row=True), pk=None)


def test_a_configured_declaration_keeps_configure_s_resolution(plan_vault: Vault) -> None:
    for client_key, expected in ((True, ("id",)), (False, None)):
        model = _model(client_key)
        auto = model.__table__.c.auto.type
        configure(plan_vault, model)
        assert auto.binding is not None and auto.binding.table == "vk_plan_rows"
        (op,) = plan(columns={"auto": auto}, model=None, table="vk_plan_rows", pk="id")
        assert isinstance(op, EncryptOp) and op.row_key == expected
        # configured for vk_plan_rows.auto, not for another table or column: not a resolution
        with pytest.raises(RowBindingError, match="configure bound this declaration"):
            plan(columns={"auto": auto}, model=None, table="other", pk="id")
        with pytest.raises(RowBindingError, match="configure bound this declaration"):
            plan(columns={"secret": auto}, model=None, table="vk_plan_rows", pk="id")


def _record(row_key: tuple[str, ...] | None) -> ProtectedColumn:
    return ProtectedColumn("vk_plan_rows", "secret", Protection.ENCRYPTED, "k", row_key=row_key)


def test_the_catalogue_resolves_auto_and_refuses_a_contradiction() -> None:
    assert _one(Encrypted("k"), pk="id", catalog=[_record(())]).row_key == ("id",)
    assert _one(Encrypted("k"), pk=None, catalog=[_record(None)]).row_key is None
    assert _one(Encrypted("k"), pk=None, catalog=[_record(("acct",))]).row_key == ("acct",)
    # a record of another table or column resolves nothing
    other = ProtectedColumn("other", "secret", Protection.ENCRYPTED, "k", row_key=())
    with pytest.raises(RowBindingError):
        _one(Encrypted("k"), pk="id", catalog=[other])
    # an explicit declaration that contradicts the record: refused, as configure does
    with pytest.raises(RowBindingError, match="would not open"):
        _one(Encrypted("k", bind_row=False), pk="id", catalog=[_record(())])
    with pytest.raises(RowBindingError, match="would not open"):
        _one(Encrypted("k", bind_row=True), pk="id", catalog=[_record(None)])
    # read_unbound declares the transition from unbound: accepted
    op = _one(Encrypted("k", bind_row=True, read_unbound=True), pk="id", catalog=[_record(None)])
    assert op.row_key == ("id",)
    with pytest.raises(VaultkitTypeError, match="catalog= is an Engine"):
        _one(Encrypted("k"), pk="id", catalog=["vk_plan_rows.secret"])  # type: ignore[list-item]
    with pytest.raises(VaultkitTypeError, match="catalog= is an Engine"):
        _one(Encrypted("k"), pk="id", catalog=object())  # type: ignore[arg-type]


def test_the_catalogue_is_read_from_a_database(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}", hide_parameters=True)
    try:
        with pytest.raises(RowBindingError):  # no catalogue in the database yet
            _one(Encrypted("k"), pk="id", catalog=engine)
        record(engine, [_record(())])
        assert _one(Encrypted("k"), pk="id", catalog=engine).row_key == ("id",)
        with engine.connect() as conn:
            assert _one(Encrypted("k"), pk="id", catalog=conn).row_key == ("id",)
    finally:
        engine.dispose()


def test_a_model_resolves_auto_and_the_catalogue_checks_it() -> None:
    model = _model(client_key=True)
    recorded = ProtectedColumn("vk_plan_rows", "auto", Protection.ENCRYPTED, "k.auto", row_key=None)
    with pytest.raises(RowBindingError, match="the catalogue records its values as written"):
        plan(columns=["auto"], model=model, table=None, pk=None, catalog=[recorded])
