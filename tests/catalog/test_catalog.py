"""The protected-column catalogue (``vaultkit.catalog``): what configure(engine=) and reencrypt
record, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

import vaultkit.catalog
from tests.cli._protected import BIDX_KEY, CARD_KEY, ID_KEY, NOTE_KEY, TABLE, db_url, new_ring
from tests.cli._protected import populate as write_customers
from vaultkit.catalog import ProtectedColumn, Protection, load, record

__all__ = ["db_url"]  # the fixture


def test_all_is_frozen() -> None:
    assert sorted(vaultkit.catalog.__all__) == [
        "CATALOG_TABLE",
        "CatalogWarning",
        "ProtectedColumn",
        "Protection",
        "load",
        "record",
        "record_metadata",
    ]


def test_the_blind_index_row_is_the_catalogues() -> None:
    """One builder for a blind index's row (the ORM's declarations and reencrypt runs call it):
    detail "text", the source as a tuple, not transformed unless said."""
    row = ProtectedColumn.blind_index(TABLE, "id_no_bidx", BIDX_KEY, bits=16, source=["id_no"])
    assert row == ProtectedColumn(
        TABLE, "id_no_bidx", Protection.BLIND_INDEX, BIDX_KEY, "text", 16, ("id_no",)
    )
    both = ProtectedColumn.blind_index(
        TABLE, "pair_bidx", BIDX_KEY, bits=24, source=("a", "b"), transformed=True
    )
    assert (both.detail, both.source, both.transformed) == ("text", ("a", "b"), True)


def test_configure_with_an_engine_records_the_declarations(tmp_path: Path, db_url: str) -> None:
    ring = tmp_path / "ring.vk"
    new_ring(ring)
    engine = sa.create_engine(db_url, hide_parameters=True)
    assert load(engine) is None  # no catalogue yet: said, not an empty list
    write_customers(ring, db_url, 2)
    assert load(engine) == [
        ProtectedColumn(TABLE, "card_no", Protection.TOKEN, CARD_KEY, "card_no"),
        # bind_row="auto" on a key assigned in code: bound to the primary key
        ProtectedColumn(TABLE, "id_no", Protection.ENCRYPTED, ID_KEY, "binary", row_key=()),
        ProtectedColumn(
            TABLE, "id_no_bidx", Protection.BLIND_INDEX, BIDX_KEY, "text", 16, ("id_no",)
        ),
        ProtectedColumn(TABLE, "note", Protection.ENCRYPTED, NOTE_KEY, "text", row_key=()),
    ]
    # a later record replaces the column's row; the others stay
    record(engine, [ProtectedColumn(TABLE, "note", Protection.ENCRYPTED, "other")])
    assert {c.column: c.key_name for c in load(engine, table=TABLE) or []} == {
        "card_no": CARD_KEY,
        "id_no": ID_KEY,
        "id_no_bidx": BIDX_KEY,
        "note": "other",
    }
    assert load(engine, table="core.other") == []
    engine.dispose()


def test_a_database_that_refuses_the_catalogue_gets_a_warning(tmp_path: Path) -> None:
    import pytest

    from tests.cli._protected import Base, open_vault
    from vaultkit.catalog import CatalogWarning
    from vaultkit.ext.sqlalchemy import configure

    ring = tmp_path / "ring.vk"
    new_ring(ring)
    path = tmp_path / "db.sqlite"
    Base.metadata.create_all(sa.create_engine(f"sqlite:///{path}"))
    read_only = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", hide_parameters=True)
    with open_vault(ring) as vault, pytest.warns(CatalogWarning, match="vaultkit_columns"):
        configure(vault, Base, engine=read_only)
    assert load(read_only) is None
    read_only.dispose()
