"""The plans of a model's declarations resolve ``bind_row="auto"`` as ``configure`` does, also
for a model nothing configured (a Spark job's): bound to the primary key when the client assigns
it, unbound when the database does. (No SparkSession needed.)"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, mapped_column

from vaultkit.ext.spark._plan import EncryptOp, plan
from vaultkit.ext.sqlalchemy import Encrypted


def _model(client_key: bool) -> Any:
    class Base(DeclarativeBase):
        pass

    class Row(Base):
        __tablename__ = "vk_plan_rows"
        id = mapped_column(sa.Integer, primary_key=True, autoincrement=not client_key)
        auto = mapped_column(Encrypted("k.auto"))
        unbound = mapped_column(Encrypted("k.unbound", bind_row=False))

    return Row


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
