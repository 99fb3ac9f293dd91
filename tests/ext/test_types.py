"""The column types follow SQLAlchemy's TypeDecorator rules and vaultkit's error rules."""

from __future__ import annotations

import datetime
import decimal
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import vaultkit.ext.sqlalchemy as ext
from tests.ext._support import Db, sample
from tests.ext.models import Customer
from vaultkit.columns import codec_for
from vaultkit.errors import KeyNotFoundError, PolicyError, VaultkitTypeError
from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, NotConfiguredError, Tokenized, configure
from vaultkit.ext.sqlalchemy._results import OpenedValues
from vaultkit.policy import Kind, Level
from vaultkit.vault import Vault


def test_public_api() -> None:
    assert sorted(ext.__all__) == [
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


def test_cache_ok_with_hashable_arguments() -> None:
    types = [
        Encrypted(
            "k",
            python_type=decimal.Decimal,
            storage="text",
            level="C2",
            kind="name",
            searchable=True,
            bind_row=["a", "b"],
        ),
        BlindIndex("k", source=("a", "b"), bits=16, transform=(str, None)),
        Tokenized("k", format="card", kind="card_no"),
    ]
    for t in types:
        assert type(t).__dict__["cache_ok"] is True
        key = t._static_cache_key
        hash(key)
        assert key == type(t)(*[], **_args(t))._static_cache_key
    assert Encrypted("k")._static_cache_key != Encrypted("k", python_type=int)._static_cache_key


def _args(t: object) -> dict:
    if isinstance(t, Encrypted):
        return dict(
            key_name="k",
            python_type=t.python_type,
            storage=t.storage,
            level=t.level,
            kind=t.kind,
            searchable=t.searchable,
            bind_row=t.bind_row,
        )
    if isinstance(t, BlindIndex):
        return dict(key_name="k", source=t.source, bits=t.bits, transform=t.transform)
    assert isinstance(t, Tokenized)
    return dict(key_name="k", format=t.format, kind=t.kind)


def test_storage_types_per_dialect() -> None:
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert isinstance(Encrypted("k").load_dialect_impl(dialect), LargeBinary)
        assert isinstance(Encrypted("k", storage="text").load_dialect_impl(dialect), String)
        assert isinstance(Tokenized("k", format="card").load_dialect_impl(dialect), String)
    ddl = str(
        Table("t", MetaData(), Column("c", Encrypted("k"))).c.c.type.compile(postgresql.dialect())
    )
    assert ddl == "BYTEA"
    text_ddl = Encrypted("k", storage="text").compile(postgresql.dialect())
    assert text_ddl == "TEXT"


def test_none_both_ways_without_a_vault() -> None:
    for t in (Encrypted("k"), Tokenized("k", format="card")):
        assert t.process_bind_param(None, sqlite.dialect()) is None
        assert t.process_result_value(None, sqlite.dialect()) is None


def test_unbound_type_refuses() -> None:
    with pytest.raises(NotConfiguredError, match="configure"):
        Encrypted("k").process_bind_param("x", sqlite.dialect())


def test_bad_declarations() -> None:
    with pytest.raises(PolicyError, match="C3"):
        Encrypted("k", level="C3", kind="password")
    with pytest.raises(PolicyError):
        Tokenized("k", format="card", level="C3")
    with pytest.raises(PolicyError, match="never stored reversibly"):
        Encrypted("k", kind="pin")  # authentication data: C3 by default
    with pytest.raises(VaultkitTypeError, match="kind"):
        Encrypted("k", kind="shoe_size")
    Encrypted("k", kind=Kind.ACCOUNT_OPENED, level=Level.C1)  # C1 may be encrypted by choice
    with pytest.raises(VaultkitTypeError, match="python_type"):
        Encrypted("k", python_type=float)
    with pytest.raises(VaultkitTypeError, match="storage"):
        Encrypted("k", storage="json")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError, match="bits"):
        BlindIndex("k", source="a", bits=0)


def test_configure_checks_declarations(vault: Vault) -> None:
    md = MetaData()
    Table(
        "t1",
        md,
        Column("id", Integer, primary_key=True),
        Column("a", Encrypted("customers.name", searchable=True)),
    )
    with pytest.raises(VaultkitTypeError, match="BlindIndex"):
        configure(vault, md)
    md = MetaData()
    Table(
        "t2",
        md,
        Column("id", Integer, primary_key=True),
        Column("i", BlindIndex("customers.id_no.bidx", source="nope", bits=16)),
    )
    with pytest.raises(VaultkitTypeError, match="no source column"):
        configure(vault, md)
    with pytest.raises(VaultkitTypeError, match="declarative base or a MetaData"):
        configure(vault, object())


def test_shared_type_instance_is_split(vault: Vault, tmp_path) -> None:
    from sqlalchemy import create_engine

    shared = Encrypted("customers.name")
    md = MetaData()
    t = Table(
        "t", md, Column("id", Integer, primary_key=True), Column("a", shared), Column("b", shared)
    )
    configure(vault, md)
    assert t.c.a.type is not t.c.b.type
    engine = create_engine(f"sqlite:///{tmp_path / 's.sqlite'}")
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert().values(id=1, a="x", b="y"))
        conn.exec_driver_sql("UPDATE t SET b = a")
        with pytest.raises(Exception, match="column b"):
            conn.execute(select(t.c.b)).one()


def test_missing_key_names_the_column(vault: Vault, tmp_path) -> None:

    class B(DeclarativeBase):
        pass

    class M(B):
        __tablename__ = "m"
        id: Mapped[int] = mapped_column(primary_key=True)
        secret = mapped_column(Encrypted("no.such.key"))

    # configure() finds it at start-up (it used to fail at the first INSERT)
    with pytest.raises(KeyNotFoundError) as e:
        configure(vault, B)
    assert "table m, column secret" in str(e.value) and "no.such.key" in str(e.value)


def test_masked_accessor(db: Db) -> None:
    r = sample(3)
    with db.session() as s:
        s.add(Customer(**r))
        s.commit()
        c = s.get(Customer, 3)
        assert c is not None
        assert c.masked("id_no") == r["id_no"][:6] + "*" * 8 + r["id_no"][-4:]
        assert c.masked("mobile") == r["mobile"][:3] + "****" + r["mobile"][-4:]
        assert c.masked("card_no").startswith(r["card_no"][:6])
        assert c.masked("card_no").endswith(r["card_no"][-4:])
        assert "*" in c.masked("card_no") and c.masked("name").endswith("*")
        assert ext.masked(c, "id_no") == c.masked("id_no")
        with pytest.raises(VaultkitTypeError, match="kind"):
            c.masked("balance")


def test_pickling_drops_the_vault_and_the_plaintext(db: Db) -> None:
    with db.session() as s:
        s.add(Customer(**sample(5)))
        s.commit()
        s.get(Customer, 5)
    t = Customer.__table__.c.name.type
    binding = t.binding
    assert binding is not None and "Vault" not in repr(binding) and "name" in repr(binding)
    with pytest.raises(TypeError):
        pickle.dumps(binding)
    opened = OpenedValues()
    opened.fill([b"stored"], [sample(5)["name"]])
    with pytest.raises(TypeError):
        pickle.dumps(opened)
    assert sample(5)["name"] not in repr(opened) and sample(5)["name"] not in repr(t.latest)
    copy = pickle.loads(pickle.dumps(Customer.__table__))
    assert copy.c.name.type.binding is None and copy.c.name.type.latest.current() is None
    assert copy.c.name.type._static_cache_key == t._static_cache_key


VALUES = {
    str: st.text(),
    bytes: st.binary(),
    int: st.integers(min_value=-(10**30), max_value=10**30),
    decimal.Decimal: st.decimals(allow_nan=False, allow_infinity=False),
    datetime.date: st.dates(),
    datetime.datetime: st.datetimes(timezones=st.none() | st.timezones()),
    dict: st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=8,
    ),
}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(VALUES, key=str)).flatmap(lambda t: st.tuples(st.just(t), VALUES[t])))
def test_codec_round_trip(case: tuple) -> None:
    python_type, value = case
    codec = codec_for(python_type)
    out = codec.decode(codec.encode(value))
    assert type(out) is type(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        # the zone is kept as its offset; a named zone's time in a DST gap or fold compares
        # unequal to every other zone's (PEP 495), so compare wall time and offset
        assert (out.replace(tzinfo=None), out.utcoffset()) == (
            value.replace(tzinfo=None),
            value.utcoffset(),
        )
    else:
        assert out == value


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(), blob=st.binary(), number=st.integers(-(10**20), 10**20))
def test_round_trip_property(vault: Vault, text: str, blob: bytes, number: int) -> None:
    from sqlalchemy import create_engine

    # any value round-trips, per value and through the batch path (in-memory SQLite)
    md = MetaData()
    t = Table(
        "p",
        md,
        Column("id", Integer, primary_key=True),
        Column("s", Encrypted("customers.name")),
        Column("b", Encrypted("customers.name", python_type=bytes, storage="text")),
        Column("n", Encrypted("customers.misc", python_type=int)),
    )
    for batched in (False, True):
        engine = create_engine("sqlite://", hide_parameters=True)
        configure(vault, md, engine=engine if batched else None)
        md.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                t.insert(),
                [
                    {"id": 1, "s": text, "b": blob, "n": number},
                    {"id": 2, "s": None, "b": b"", "n": 0},
                ],
            )
            rows = conn.execute(select(t.c.s, t.c.b, t.c.n).order_by(t.c.id)).all()
        assert [tuple(r) for r in rows] == [(text, blob, number), (None, b"", 0)]
        engine.dispose()


@pytest.mark.parametrize("batched", [False, True])
def test_errors_hold_no_plaintext_in_their_chain(vault: Vault, batched: bool) -> None:
    """A value that authenticates but is not of ``python_type`` (the schema changed) raises
    DecryptionError with no context: the decoder's ValueError quotes the plaintext (int()'s
    message, UnicodeDecodeError.object). A str with a lone surrogate is refused unquoted."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import StatementError

    from vaultkit.errors import DecryptionError, InputFormatError

    md = MetaData()
    typed = Table(
        "schema_changed",
        md,
        Column("id", Integer, primary_key=True),
        Column("n", Encrypted("customers.misc", python_type=int)),
        Column("s", Encrypted("customers.name")),
    )
    raw = Table(
        "schema_changed",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("n", LargeBinary),
        Column("s", LargeBinary),
    )
    engine = create_engine("sqlite://", hide_parameters=True)
    configure(vault, md, engine=engine if batched else None)
    md.create_all(engine)
    ctx = {"table": "schema_changed"}
    n = vault.encrypt("customers.misc", b"12-secret-abc", context={**ctx, "column": "n"})
    s = vault.encrypt("customers.name", b"\xffsecret-bytes", context={**ctx, "column": "s"})
    with engine.begin() as conn:
        conn.execute(raw.insert(), [{"id": 1, "n": n, "s": None}, {"id": 2, "n": None, "s": s}])
    for column, row in (("n", 1), ("s", 2)):
        with engine.connect() as conn, pytest.raises(DecryptionError) as info:
            conn.execute(select(typed.c[column]).where(typed.c.id == row)).all()
        chain, e = [], info.value
        while e is not None:
            chain.append(e)
            e = e.__cause__ or e.__context__
        assert all(isinstance(x, DecryptionError) for x in chain), chain
        assert "secret" not in repr(chain)
    with engine.begin() as conn, pytest.raises(StatementError) as err:
        conn.execute(typed.insert(), [{"id": 3, "s": "top \udc80secret"}])
    assert isinstance(err.value.orig, InputFormatError)
    assert err.value.orig.__context__ is None and "secret" not in str(err.value)
    engine.dispose()
