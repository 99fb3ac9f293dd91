"""The blind-index rebuild's compare-and-set (issue 11, defect 2 b): an application write that
lands between a batch's read and its update is kept, not overwritten with an index of the old
source value. PostgreSQL (a second connection writes while the batch's transaction is open)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.cli._protected import (
    BIDX_KEY,
    BITS,
    TABLE,
    Base,
    Customer,
    id_no,
    new_ring,
    open_vault,
    populate,
    postgres_db_url,
    search_all,
)
from vaultkit.ext.sqlalchemy import configure
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.reencrypt import BlindIndexTarget, Reencryptor

__all__ = ["postgres_db_url"]  # the fixture

N = 60


@pytest.mark.postgres
def test_a_concurrent_application_write_wins(tmp_path: Path, postgres_db_url: str) -> None:
    # (PostgreSQL only: SQLite serializes writers, so no write can land inside a batch)
    from tests.cli._run import PASSPHRASE

    db_url = postgres_db_url
    ring = tmp_path / "ring.vk"
    new_ring(ring)
    populate(ring, db_url, N)
    kr = KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE))
    kr.rotate_key(BIDX_KEY)
    kr.close()

    engine = sa.create_engine(db_url, hide_parameters=True)
    app = sa.create_engine(db_url, hide_parameters=True)
    new_value = id_no(N + 500)
    written: list[int] = []

    def application_write(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("UPDATE") and "id_no_bidx" in statement and not written:
            with open_vault(ring) as vault:
                configure(vault, Base)
                with Session(app) as s:
                    s.get(Customer, 1).id_no = new_value  # type: ignore[union-attr]
                    s.commit()
            written.append(1)

    sa.event.listen(engine, "before_cursor_execute", application_write)
    with open_vault(ring) as vault:
        job = Reencryptor(
            engine,
            vault,
            table=TABLE,
            columns=[],
            blind_index={"id_no": BlindIndexTarget("id_no_bidx", BIDX_KEY, BITS)},
            batch_size=25,
            bind_row=True,  # Customer.id_no: bind_row="auto" on a key assigned in code
        )
        summary = job.run()
    assert written and summary.conflicts == 1 and summary.complete
    assert summary.rewritten == N - 1  # row 1 was indexed by the application, under v2
    found = search_all(ring, db_url, N)
    assert found[id_no(1)] == []  # the application's value stands
    assert all(len(rows) == 1 for k, rows in found.items() if k != id_no(1))
    with open_vault(ring) as vault:
        configure(vault, Base)
        with Session(app) as s:
            hits = s.scalars(sa.select(Customer.id).where(Customer.id_no == new_value)).all()
    assert hits == [1]
    engine.dispose()
    app.dispose()
