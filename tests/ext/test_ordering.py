"""ORDER BY / GROUP BY / DISTINCT / window ordering on a protected column are refused, naming
the column (issue 11, defect 4): they used to run and sort or group by ciphertext."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import LargeBinary, desc, distinct, func, select, type_coerce

from tests.ext._support import Db, sample
from tests.ext.models import Customer
from vaultkit.errors import VaultkitTypeError
from vaultkit.vault import Vault

table = Customer.__table__


def _fill(db: Db) -> None:
    with db.session() as s:
        s.add_all(Customer(**sample(i)) for i in range(1, 4))
        s.commit()


REFUSED_AT_COMPILE: dict[str, tuple[Callable[[], Any], str, str]] = {
    "orm order_by": (lambda: select(Customer).order_by(Customer.id_no), "ORDER BY", "id_no"),
    "core order_by": (lambda: select(table).order_by(table.c.name), "ORDER BY", "name"),
    "desc(col)": (lambda: select(Customer.id).order_by(desc(Customer.name)), "ORDER BY", "name"),
    "token order_by": (lambda: select(Customer).order_by(Customer.card_no), "ORDER BY", "card_no"),
    "index order_by": (
        lambda: select(Customer.id).order_by(Customer.id_no_bidx),
        "ORDER BY",
        "id_no_bidx",
    ),
    "orm group_by": (
        lambda: select(Customer.card_no, func.count()).group_by(Customer.card_no),
        "GROUP BY",
        "card_no",
    ),
    "core group_by": (
        lambda: select(func.count()).select_from(table).group_by(table.c.id_no_bidx),
        "GROUP BY",
        "id_no_bidx",
    ),
    "select distinct": (lambda: select(Customer.name).distinct(), "DISTINCT", "name"),
    "count(distinct(col))": (
        lambda: select(func.count(distinct(Customer.mobile))),
        "DISTINCT",
        "mobile",
    ),
    "window order_by": (
        lambda: select(Customer.id, func.row_number().over(order_by=Customer.id_no)),
        "ORDER BY",
        "id_no",
    ),
    "window partition_by": (
        lambda: select(Customer.id, func.count().over(partition_by=Customer.card_no)),
        "PARTITION BY",
        "card_no",
    ),
    "in a subquery": (
        lambda: select(Customer.id).where(
            Customer.id.in_(select(Customer.id).order_by(Customer.birth).limit(2))
        ),
        "ORDER BY",
        "birth",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED_AT_COMPILE))
def test_refused_at_compile_time_naming_the_column(db: Db, case: str) -> None:
    _fill(db)
    build, clause, column = REFUSED_AT_COMPILE[case]
    with pytest.raises(VaultkitTypeError, match=rf"{column}: {clause} on a protected column"):
        str(build())  # compiling alone refuses
    with db.session() as s, pytest.raises(VaultkitTypeError, match=rf"{column}: {clause}"):
        s.execute(build()).all()
    with db.engine.connect() as conn, pytest.raises(VaultkitTypeError, match=column):
        conn.execute(build()).all()


@pytest.mark.parametrize(
    "build",
    [
        lambda: Customer.id_no.desc(),
        lambda: Customer.card_no.asc(),
        lambda: Customer.id_no_bidx.desc(),
        lambda: Customer.name.distinct(),
        lambda: table.c.mobile.nulls_first(),
    ],
    ids=["desc", "asc", "index desc", "distinct", "nulls_first"],
)
def test_sort_modifiers_refused_where_built(build: Callable[[], Any]) -> None:
    with pytest.raises(VaultkitTypeError, match="on a protected column"):
        build()


def test_distinct_on_refused_for_postgresql(vault: Vault) -> None:  # (configure installs it)
    from sqlalchemy.dialects import postgresql

    try:  # SQLAlchemy 2.1
        from sqlalchemy.dialects.postgresql import distinct_on

        stmt = select(Customer.id).ext(distinct_on(Customer.id_no))
    except ImportError:  # 2.0
        stmt = select(Customer.id).distinct(Customer.id_no)
    with pytest.raises(VaultkitTypeError, match="id_no: DISTINCT on a protected column"):
        stmt.compile(dialect=postgresql.dialect())
    ok = select(Customer.id).distinct()
    assert "DISTINCT" in str(ok.compile(dialect=postgresql.dialect()))


def test_what_stays_allowed(db: Db) -> None:
    _fill(db)
    with db.session() as s:
        ids = s.scalars(select(Customer.id).order_by(Customer.id.desc())).all()
        assert ids == [3, 2, 1]
        # DISTINCT over whole entities: the primary key is selected, so DISTINCT is per row
        assert len(s.scalars(select(Customer).distinct()).all()) == 3
        assert s.scalars(select(Customer.id).order_by(Customer.id_no.is_(None), Customer.id))
        # sorting by the stored bytes on purpose: type_coerce says so
        coerced = type_coerce(Customer.id_no_bidx, LargeBinary)
        assert s.execute(select(func.count()).select_from(Customer).group_by(coerced)).all()
        assert sorted(s.scalars(select(Customer.plain).order_by(Customer.plain))) == [
            "plain-1",
            "plain-2",
            "plain-3",
        ]
