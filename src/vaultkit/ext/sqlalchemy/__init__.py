"""SQLAlchemy integration: protect a model by declaring its columns (docs/sqlalchemy.md).

::

    class Customer(Protected, Base):
        __tablename__ = "customers"
        id: Mapped[int] = mapped_column(primary_key=True)
        id_no = mapped_column(Encrypted("customers.id_no", kind="cn_id", searchable=True))
        id_no_bidx = mapped_column(BlindIndex("customers.id_no.bidx", source="id_no"), index=True)
        card_no = mapped_column(Tokenized("customers.card", format="card"))

    configure(vault, Base)
    session.scalars(select(Customer).where(Customer.id_no == "110105194912310021"))
"""

from vaultkit.ext.sqlalchemy._binding import NotConfiguredError
from vaultkit.ext.sqlalchemy._configure import configure
from vaultkit.ext.sqlalchemy._masked import masked
from vaultkit.ext.sqlalchemy._migrations import protect_column, render_item, unprotect_column
from vaultkit.ext.sqlalchemy._orm import Protected
from vaultkit.ext.sqlalchemy._results import RowBound
from vaultkit.ext.sqlalchemy._types import BlindIndex, Encrypted, Tokenized

__all__ = [
    "BlindIndex",
    "Encrypted",
    "NotConfiguredError",
    "Protected",
    "RowBound",
    "Tokenized",
    "configure",
    "masked",
    "protect_column",
    "render_item",
    "unprotect_column",
]
