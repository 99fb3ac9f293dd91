"""The column-expression forms: arrow_udf (Spark >= 4.1) and pandas_udf give what protect and
reveal give (tokens and blind indexes equal, ciphertexts open to the same values)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ext.models import Customer
from tests.ext.spark._data import frame, rows
from vaultkit.ext.spark import VaultSpec, protect, protect_udf, reveal_udf
from vaultkit.ext.spark._udf import has_arrow_udf

TABLE = "vk_customers"
ENGINES = ["pandas", *(["arrow"] if has_arrow_udf() else [])]


def _decl(name: str) -> Any:
    return Customer.__table__.c[name].type


@pytest.mark.parametrize("engine", ENGINES)
def test_udf_outputs_equal_protect_and_reveal(spark: Any, spec: VaultSpec, engine: str) -> None:
    df = frame(spark, 60, partitions=3)
    card = protect_udf(spec, _decl("card_no"), table=TABLE, column="card_no", engine=engine)
    bidx = protect_udf(spec, _decl("id_no_bidx"), table=TABLE, column="id_no_bidx", engine=engine)
    name = protect_udf(spec, _decl("name"), table=TABLE, column="name", engine=engine)
    note = protect_udf(spec, _decl("note"), table=TABLE, column="note", pk="id", engine=engine)
    by_udf = df.select(
        "id",
        card("card_no").alias("card_no"),
        bidx("id_no").alias("id_no_bidx"),
        name("name").alias("name"),
        note("note", "id").alias("note"),
    )
    by_pass = {
        r.id: r
        for r in protect(df, spec, model=Customer, columns=["card_no", "id_no_bidx"]).collect()
    }
    opened_name = reveal_udf(spec, _decl("name"), table=TABLE, column="name", engine=engine)
    opened_note = reveal_udf(
        spec, _decl("note"), table=TABLE, column="note", pk="id", engine=engine
    )
    shown = reveal_udf(
        spec, _decl("card_no"), table=TABLE, column="card_no", masked=True, engine=engine
    )
    back = by_udf.select(
        "id",
        "card_no",
        "id_no_bidx",
        opened_name("name").alias("name"),
        opened_note("note", "id").alias("note"),
        shown("card_no").alias("shown"),
    ).collect()
    expected = {r["id"]: r for r in rows(60)}
    assert len(back) == 60
    for r in back:
        e = expected[r.id]
        assert r.card_no == by_pass[r.id].card_no
        assert r.id_no_bidx == by_pass[r.id].id_no_bidx
        assert (r.name, r.note) == (e["name"], e["note"])
        assert r.shown == (
            None if e["card_no"] is None else e["card_no"][:6] + "*" * 9 + e["card_no"][-4:]
        )
