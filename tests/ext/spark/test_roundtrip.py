"""protect/reveal on local[2]: round trip, schema and NULLs, and agreement with the ORM and the
single-process Vault in both directions (tokens and blind indexes equal, ciphertexts open)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.ext.models import Base, Customer
from tests.ext.spark._data import COLUMNS, PLAIN, frame, rows
from vaultkit.columns import format_token
from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.spark import VaultSpec, protect, reveal
from vaultkit.ext.sqlalchemy import Encrypted, Tokenized, configure
from vaultkit.keys import KeyRing
from vaultkit.vault import Vault

N = 120


@pytest.fixture
def vault(spark_ring: KeyRing) -> Iterator[Vault]:
    with Vault(spark_ring) as v:
        configure(v, Base)
        yield v


@pytest.fixture
def engine(tmp_path: Path, vault: Vault) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'orm.sqlite'}", hide_parameters=True)
    Base.metadata.create_all(engine)
    configure(vault, Base, engine=engine)
    yield engine
    engine.dispose()


def _raw(engine: sa.Engine) -> sa.Table:
    """The customers table as stored (reflected: plain types, nothing encrypted or opened)."""
    return sa.Table(Customer.__tablename__, sa.MetaData(), autoload_with=engine)


def _by_id(df: Any) -> dict[int, dict[str, Any]]:
    return {r["id"]: r.asDict() for r in df.collect()}


def test_round_trip_keeps_values_nulls_schema_and_order(spark: Any, spec: VaultSpec) -> None:
    df = frame(spark, N)
    stored = protect(df, spec, model=Customer, columns=COLUMNS)
    # column order kept, blind indexes appended, stored types as the ORM declares them
    assert stored.columns == [*PLAIN, "id_no_bidx", "mobile_year"]
    types = {f.name: f.dataType.simpleString() for f in stored.schema.fields}
    assert types["name"] == "binary" and types["mobile"] == "string"
    assert types["card_no"] == "string" and types["id_no_bidx"] == "binary"
    assert types["plain"] == "string" and types["visits"] == "binary" and types["id"] == "bigint"
    protected = _by_id(stored)
    expected = {r["id"]: r for r in rows(N)}
    for i, r in protected.items():
        e = expected[i]
        assert r["plain"] == e["plain"]
        for c in ("name", "id_no", "card_no", "mobile", "balance", "note"):
            assert (r[c] is None) == (e[c] is None), (i, c)
            assert r[c] != e[c] or e[c] is None
        assert (r["id_no_bidx"] is None) == (e["id_no"] is None)
        if e["card_no"] is not None:
            assert r["card_no"].startswith("1:") and len(r["card_no"]) == 2 + len(e["card_no"])
    opened = _by_id(reveal(stored, spec, model=Customer, columns=COLUMNS))
    for i, r in opened.items():
        for c in PLAIN:
            assert r[c] == expected[i][c], (i, c)
    assert len(opened) == N


def test_spark_output_is_read_by_the_orm(
    spark: Any, spec: VaultSpec, vault: Vault, engine: sa.Engine
) -> None:
    stored = protect(frame(spark, 40), spec, model=Customer, columns=COLUMNS)
    data = [r.asDict() for r in stored.collect()]
    with engine.begin() as conn:
        conn.execute(sa.insert(_raw(engine)), data)
    expected = {r["id"]: r for r in rows(40)}
    with Session(engine) as session:
        for c in session.scalars(sa.select(Customer)):
            e = expected[c.id]
            assert (c.name, c.id_no, c.card_no, c.mobile, c.balance, c.birth, c.visits) == (
                e["name"],
                e["id_no"],
                e["card_no"],
                e["mobile"],
                e["balance"],
                e["birth"],
                e["visits"],
            )
            assert (c.photo, c.note) == (e["photo"], e["note"])
        # the blind index Spark wrote answers the ORM's search
        target = expected[3]["id_no"]
        found = session.scalars(sa.select(Customer).where(Customer.id_no == target)).all()
        assert [c.id for c in found] == [3]


def test_orm_output_is_read_by_spark_and_equals_single_process(
    spark: Any, spec: VaultSpec, vault: Vault, engine: sa.Engine
) -> None:
    expected = rows(30)
    with Session(engine) as session:
        session.add_all(Customer(**r) for r in expected)
        session.commit()
    with engine.connect() as conn:
        orm_stored = [dict(r._mapping) for r in conn.execute(sa.select(_raw(engine)))]
    by_spark = _by_id(protect(frame(spark, 30), spec, model=Customer, columns=COLUMNS))
    for r in orm_stored:
        s = by_spark[r["id"]]
        # deterministic forms: byte for byte what the ORM (a single process) stored
        for c in ("card_no", "id_no_bidx", "mobile_year"):
            assert s[c] == r[c], (r["id"], c)
    # single-process batch calls give the same tokens
    cards = [r["card_no"] for r in expected if r["card_no"] is not None]
    ctx = {"table": "vk_customers", "column": "card_no"}
    single = vault.tokenize_many("customers.card", cards, format="card", context=ctx)
    spark_cards = [by_spark[r["id"]]["card_no"] for r in expected if r["card_no"] is not None]
    assert spark_cards == [format_token(1, t) for t in single]
    # the ORM's rows revealed by Spark
    schema = protect(frame(spark, 1), spec, model=Customer, columns=COLUMNS).schema
    df = spark.createDataFrame(
        [tuple(r[f] for f in schema.fieldNames()) for r in orm_stored], schema
    )
    opened = _by_id(reveal(df, spec, model=Customer, columns=COLUMNS))
    for e in expected:
        for c in PLAIN:
            assert opened[e["id"]][c] == e[c], (e["id"], c)


def test_columns_form_and_masked_reveal(spark: Any, spec: VaultSpec) -> None:
    columns = {
        "card_no": Tokenized("customers.card", format="card"),
        "mobile": Encrypted("customers.misc", kind="mobile", storage="text", bind_row=False),
    }
    df = frame(spark, 12).select("id", "card_no", "mobile")
    stored = protect(df, spec, columns=columns, table="vk_customers")
    shown = _by_id(reveal(stored, spec, columns=columns, table="vk_customers", masked=True))
    for e in rows(12):
        s = shown[e["id"]]
        if e["card_no"] is not None:
            assert s["card_no"] == e["card_no"][:6] + "*" * 9 + e["card_no"][-4:]
        if e["mobile"] is not None:
            assert s["mobile"] == e["mobile"][:3] + "****" + e["mobile"][-4:]
    assert all(f.dataType.simpleString() == "string" for f in stored.schema.fields[1:])


def test_bad_input_is_refused_with_named_errors(spark: Any, spec: VaultSpec) -> None:
    df = frame(spark, 4)
    with pytest.raises(VaultkitTypeError, match="no column"):
        protect(df.drop("mobile"), spec, model=Customer, columns=["mobile"])
    with pytest.raises(VaultkitTypeError, match="not a protected column"):
        protect(df, spec, model=Customer, columns=["plain"])
    with pytest.raises(VaultkitTypeError, match="table="):
        protect(df, spec, columns={"card_no": Tokenized("customers.card", format="card")})
    # a value that does not open under its column's context: an opaque error naming the column
    stored = protect(df, spec, model=Customer, columns=["name"])
    wrong = {"name": Encrypted("customers.name", bind_row=False)}
    with pytest.raises(
        Exception, match=r"DecryptionError: decryption failed \(table other_table, column name\)"
    ) as info:
        reveal(stored, spec, columns=wrong, table="other_table").collect()
    assert "测试" not in str(info.value) and "李" not in str(info.value)


def test_arrow_types_of_an_empty_and_all_null_batch(spark: Any, spec: VaultSpec) -> None:
    df = frame(spark, 6).select("id", "card_no").where("card_no is null")
    stored = protect(df, spec, model=Customer, columns=["card_no"])
    assert [r["card_no"] for r in stored.collect()] == [None]
    assert stored.schema["card_no"].dataType.simpleString() == "string"
