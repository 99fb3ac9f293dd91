"""Issue 11 defect 5 (CLI side): `reencrypt --from-plaintext --blind-index` takes the index
length from the planner for the table's row count, and refuses a length outside the planner's
safe range unless told `--accept-identifying` (the ORM's override, one shared call:
``vaultkit.blindindex._planner.index_bits``)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.cli._protected import BIDX_KEY, ID_KEY, db_url, id_no, new_ring, open_vault
from tests.cli._run import fails, ok, vk
from vaultkit.blindindex import plan
from vaultkit.catalog import ProtectedColumn, Protection, load
from vaultkit.columns import column_context

__all__ = ["db_url"]  # the fixture

N = 1500


def _plain_table(url: str) -> sa.Table:
    md = sa.MetaData()
    t = sa.Table(
        "legacy",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("id_no", sa.String(200)),
        sa.Column("id_no_bidx", sa.LargeBinary(32)),
    )
    engine = sa.create_engine(url)
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"id": i, "id_no": id_no(i)} for i in range(1, N + 1)])
    engine.dispose()
    return t


def test_index_length_comes_from_the_planner(tmp_path: Path, db_url: str) -> None:
    ring = tmp_path / "ring.vk"
    env = new_ring(ring)
    t = _plain_table(db_url)
    common = ("reencrypt", "--db", db_url, "--table", "legacy", "--column", "id_no",
              "--from-plaintext", "--key", ID_KEY, "--yes")  # fmt: skip
    # 32 bits over 1,500 rows identifies every row: refused, the override named
    fails(
        vk(*common, "--blind-index", f"id_no:id_no_bidx:{BIDX_KEY}:32", env=env),
        "--accept-identifying",
    )
    ok(vk(*common, "--dry-run", "--blind-index", f"id_no:id_no_bidx:{BIDX_KEY}", env=env))
    ok(vk(*common, "--blind-index", f"id_no:id_no_bidx:{BIDX_KEY}", env=env))

    bits = plan(rows=N).bits
    assert bits < 16
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(t.c.id, t.c.id_no_bidx)).all())
    with open_vault(ring) as v:
        expected = v.blind_index_many(
            BIDX_KEY,
            [id_no(i) for i in range(1, N + 1)],
            context=column_context("legacy", "id_no"),
            bits=bits,
        )
    assert [bytes(stored[i]) for i in range(1, N + 1)] == expected
    # the catalogue records the planned length (what a rebuild and key retire use)
    entries = {c.column: c for c in load(engine) or []}
    assert entries["id_no_bidx"].protection is Protection.BLIND_INDEX
    assert entries["id_no_bidx"].bits == bits and entries["id_no_bidx"].source == ("id_no",)
    assert entries["id_no_bidx"] == ProtectedColumn.blind_index(
        "legacy", "id_no_bidx", BIDX_KEY, bits=bits, source=["id_no"]
    )  # the catalogue's own row: detail "text", as the ORM's declarations record it
    assert entries["id_no_bidx"].detail == "text"
    assert entries["id_no"].protection is Protection.ENCRYPTED
    assert entries["id_no"].key_name == ID_KEY and entries["id_no"].detail == "text"
    engine.dispose()


def test_explicit_length_with_the_override(tmp_path: Path, db_url: str) -> None:
    ring = tmp_path / "ring.vk"
    env = new_ring(ring)
    t = _plain_table(db_url)
    ok(vk("reencrypt", "--db", db_url, "--table", "legacy", "--column", "id_no",
          "--from-plaintext", "--key", ID_KEY, "--yes", "--accept-identifying",
          "--blind-index", f"id_no:id_no_bidx:{BIDX_KEY}:32", env=env))  # fmt: skip
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        lengths = {len(bytes(r[0])) for r in conn.execute(sa.select(t.c.id_no_bidx))}
    assert lengths == {4}
    engine.dispose()
