"""``bind_row="auto"`` in Spark is resolved on the driver (``model=``, ``configure``'s resolution,
the catalogue) or refused with ``RowBindingError`` before any job runs: never taken as unbound
(the ORM writes such a column bound to the primary key when the client assigns it). Explicit
``bind_row=True``/``False`` are taken as declared, and what they write is what the model with
the same binding reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, mapped_column

from tests.ext.models import Customer
from tests.ext.spark._data import frame, rows
from tests.ext.spark.conftest import PASSPHRASE
from vaultkit import Vault
from vaultkit.catalog import ProtectedColumn, Protection
from vaultkit.errors import RowBindingError, VaultkitTypeError
from vaultkit.ext.spark import (
    VaultSpec,
    protect,
    protect_udf,
    reencrypt,
    reveal,
    reveal_udf,
    survey,
)
from vaultkit.ext.sqlalchemy import Encrypted, configure
from vaultkit.keys import KeyRing, LocalKMS

TABLE = "vk_customers"
NOTE_KEY = "customers.note"  # Customer.note: bind_row=True; Customer.name: bind_row=False


def _auto_model() -> tuple[Any, Any]:
    """A fresh model whose ``note`` is ``bind_row="auto"`` on a key the client assigns (so the
    ORM binds it to ``id``), nothing configured."""

    class Base(DeclarativeBase):
        pass

    class Row(Base):
        __tablename__ = "vk_rowbind"
        id = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
        note = mapped_column(Encrypted(NOTE_KEY))

    return Base, Row


def _notes(df: Any) -> dict[int, str | None]:
    return {r.id: r.note for r in df.collect()}


def _expected(n: int) -> dict[int, str | None]:
    return {r["id"]: r["note"] for r in rows(n)}


@pytest.fixture
def no_job(spark: Any) -> Iterator[Callable[[], list[int]]]:
    """The ids of the Spark jobs run since the test started (in its own job group)."""
    sc = spark.sparkContext
    keys = ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel")
    before = {k: sc.getLocalProperty(k) for k in keys}
    sc.setJobGroup("vk-rowbind-refusal", "vaultkit bind_row refusal test")
    yield lambda: list(sc.statusTracker().getJobIdsForGroup("vk-rowbind-refusal"))
    for k, v in before.items():  # (None removes the property: later jobs are as before)
        sc.setLocalProperty(k, v)


def test_an_unresolved_auto_is_refused_on_the_driver_by_every_form(
    spark: Any, spec: VaultSpec, no_job: Callable[[], list[int]]
) -> None:
    df = frame(spark, 8).select("id", "note")
    auto = Encrypted(NOTE_KEY)  # not configured, no model, no catalogue
    columns = {"note": auto}
    calls: list[Callable[[], object]] = [
        lambda: protect(df, spec, columns=columns, table=TABLE, pk="id"),
        lambda: reveal(df, spec, columns=columns, table=TABLE, pk="id"),
        lambda: reencrypt(df, spec, pk="id", columns=columns, table=TABLE),
        lambda: survey(df, spec, columns=columns, table=TABLE, pk="id"),
        lambda: protect_udf(spec, auto, table=TABLE, column="note", pk="id"),
        lambda: reveal_udf(spec, auto, table=TABLE, column="note", pk="id"),
        lambda: protect_udf(spec, auto, table=TABLE, column="note"),  # (pk= alone: no help)
    ]
    for call in calls:
        with pytest.raises(RowBindingError) as info:
            call()
        message = str(info.value)
        assert f"table {TABLE}, column note" in message
        assert "model=" in message and "bind_row=True" in message and "bind_row=False" in message
    assert no_job() == []  # refused before any Spark job ran
    assert auto.binding is None and auto.row_key is None  # the declaration is left as it was


def test_explicit_true_writes_what_the_model_reads_and_needs_the_key(
    spark: Any, spec: VaultSpec
) -> None:
    df = frame(spark, 24).select("id", "note")
    bound = {"note": Encrypted(NOTE_KEY, bind_row=True)}
    stored = protect(df, spec, columns=bound, table=TABLE, pk="id")
    # Customer.note is bind_row=True: the model's reveal opens what the columns= form wrote
    assert _notes(reveal(stored, spec, model=Customer, columns=["note"])) == _expected(24)
    # and the other way round, through the UDF form
    by_model = protect(df, spec, model=Customer, columns=["note"])
    opened = reveal_udf(spec, bound["note"], table=TABLE, column="note", pk="id")
    back = by_model.select("id", opened("note", "id").alias("note"))
    assert _notes(back) == _expected(24)
    spark.udf.register("vk_note_open", opened)  # (the driver-side arity check keeps pyspark's
    by_model.createOrReplaceTempView("vk_rowbind_notes")  # attributes: it registers as is)
    back = spark.sql("select id, vk_note_open(note, id) as note from vk_rowbind_notes")
    assert _notes(back) == _expected(24)
    # the primary key must be there: in the DataFrame, and named (pk=)
    for call in (
        lambda: protect(df.drop("id"), spec, columns=bound, table=TABLE, pk="id"),
        lambda: reveal(stored.drop("id"), spec, columns=bound, table=TABLE, pk="id"),
        lambda: reencrypt(stored.drop("id"), spec, pk="id", columns=bound, table=TABLE),
    ):
        with pytest.raises(VaultkitTypeError, match="has no column id"):
            call()
    udfs = (
        protect_udf(spec, bound["note"], table=TABLE, column="note", pk="id"),
        reveal_udf(spec, bound["note"], table=TABLE, column="note", pk="id"),
    )
    for udf in udfs:  # a row-bound column's UDF takes the key after the value
        with pytest.raises(VaultkitTypeError, match=r"takes 2 column\(s\): note, id \(got 1\)"):
            udf("note")
    for call in (
        lambda: protect(df, spec, columns=bound, table=TABLE),
        lambda: protect_udf(spec, bound["note"], table=TABLE, column="note"),
        lambda: reveal_udf(spec, bound["note"], table=TABLE, column="note"),
    ):
        with pytest.raises(VaultkitTypeError, match="row-bound to the primary key: give pk="):
            call()


def test_explicit_false_writes_what_the_model_reads(spark: Any, spec: VaultSpec) -> None:
    df = frame(spark, 12).select("id", "name")
    unbound = {"name": Encrypted("customers.name", bind_row=False)}  # as Customer.name
    stored = protect(df, spec, columns=unbound, table=TABLE)  # no pk needed
    opened = reveal(stored, spec, model=Customer, columns=["name"]).collect()
    assert {r.id: r.name for r in opened} == {r["id"]: r["name"] for r in rows(12)}
    udf = protect_udf(spec, unbound["name"], table=TABLE, column="name")
    by_udf = df.select("id", udf("name").alias("name"))
    again = reveal(by_udf, spec, model=Customer, columns=["name"]).collect()
    assert {r.id: r.name for r in again} == {r["id"]: r["name"] for r in rows(12)}


def test_model_and_configure_and_catalogue_resolve_auto_as_the_orm_does(
    spark: Any, spec: VaultSpec, spark_ring: KeyRing
) -> None:
    df = frame(spark, 16).select("id", "note")
    table = "vk_rowbind"
    bound = {"note": Encrypted(NOTE_KEY, bind_row=True)}
    expected = _expected(16)

    # model=: the client assigns vk_rowbind.id, so "auto" binds it (nothing configured)
    _, Row = _auto_model()
    by_model = protect(df, spec, model=Row)
    assert _notes(reveal(by_model, spec, columns=bound, table=table, pk="id")) == expected

    # configure's resolution of the same declaration, given through columns= and the UDFs
    Base, Row = _auto_model()
    auto = Row.__table__.c.note.type
    with Vault(KeyRing.open(spark_ring.path, LocalKMS(passphrase=PASSPHRASE))) as vault:
        configure(vault, Base)
        by_columns = protect(df, spec, columns={"note": auto}, table=table, pk="id")
        assert _notes(reveal(by_columns, spec, model=Row)) == expected
        udf = reveal_udf(spec, auto, table=table, column="note", pk="id")
        assert _notes(by_model.select("id", udf("note", "id").alias("note"))) == expected

    # the catalogue's record (bound to the primary key) for a declaration nothing configured
    catalog = [ProtectedColumn(table, "note", Protection.ENCRYPTED, NOTE_KEY, row_key=())]
    fresh = {"note": Encrypted(NOTE_KEY)}
    by_catalog = protect(df, spec, columns=fresh, table=table, pk="id", catalog=catalog)
    assert _notes(reveal(by_catalog, spec, model=Row)) == expected
    udf = reveal_udf(spec, fresh["note"], table=table, column="note", pk="id", catalog=catalog)
    assert _notes(by_model.select("id", udf("note", "id").alias("note"))) == expected
    # and an explicit binding that contradicts the record is refused
    with pytest.raises(RowBindingError, match=f"{table}.note: the catalogue records it as bound"):
        protect(
            df,
            spec,
            columns={"note": Encrypted(NOTE_KEY, bind_row=False)},
            table=table,
            catalog=catalog,
        )
