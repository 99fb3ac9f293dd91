"""The models the ext.sqlalchemy tests run against (one declarative base, bound per test)."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, Protected, Tokenized

KEYS = {
    "customers.name": "SM4-GCM",
    "customers.id_no": "SM4-GCM",
    "customers.id_no.bidx": "HMAC-SM3",
    "customers.mobile_year.bidx": "HMAC-SM3",
    "customers.card": "FF1-SM4",
    "customers.misc": "AES-256-GCM",
    "customers.note": "SM4-GCM",
}


def last4(value: Any) -> str:
    return str(value)[-4:]


def year(value: datetime.date) -> int:
    return value.year


class Base(DeclarativeBase):
    pass


class Customer(Protected, Base):
    """Its key is assigned in code, so bind_row="auto" would bind every encrypted column to it;
    the columns the Core tests read and write are declared unbound (Core reads of a row-bound
    column need its row key selected too, single-row Core writes are refused); ``note`` is
    row-bound."""

    __tablename__ = "vk_customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name = mapped_column(Encrypted("customers.name", kind="name", level="C2", bind_row=False))
    id_no = mapped_column(
        Encrypted("customers.id_no", kind="cn_id", searchable=True, bind_row=False)
    )
    id_no_bidx = mapped_column(
        BlindIndex("customers.id_no.bidx", source="id_no", bits=32), index=True
    )
    card_no = mapped_column(Tokenized("customers.card", format="card"))
    mobile = mapped_column(
        Encrypted("customers.misc", kind="mobile", storage="text", bind_row=False)
    )
    balance = mapped_column(
        Encrypted("customers.misc", python_type=decimal.Decimal, bind_row=False)
    )
    birth = mapped_column(Encrypted("customers.misc", python_type=datetime.date, bind_row=False))
    opened = mapped_column(
        Encrypted("customers.misc", python_type=datetime.datetime, storage="text", bind_row=False)
    )
    visits = mapped_column(Encrypted("customers.misc", python_type=int, bind_row=False))
    photo = mapped_column(Encrypted("customers.misc", python_type=bytes, bind_row=False))
    extra = mapped_column(
        Encrypted("customers.misc", python_type=dict, storage="text", bind_row=False)
    )
    note = mapped_column(Encrypted("customers.note", bind_row=True))
    mobile_year = mapped_column(
        BlindIndex(
            "customers.mobile_year.bidx",
            source=("mobile", "birth"),
            bits=16,
            transform=(last4, year),
        ),
        index=True,
    )
    plain = mapped_column(String(40))


class Account(Base):
    """A natural key bound into the context (bind_row="account_no")."""

    __tablename__ = "vk_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_no: Mapped[str] = mapped_column(String(32), unique=True)
    holder = mapped_column(Encrypted("customers.name", bind_row="account_no"))
