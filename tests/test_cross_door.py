"""Every door writes the stored-column format the same way and reads what the others wrote.

Doors: the ORM (``vaultkit.ext.sqlalchemy``), ``vaultkit reencrypt --from-plaintext`` (the real
console script), the CLI filters (``vaultkit tokenize --stored`` / ``detokenize --stored``),
``Vault`` called directly with :mod:`vaultkit.columns`, and a Spark job (``vaultkit.ext.spark``'s
``protect`` and ``reveal`` on the session's shared local[2] SparkSession, given the application's
model before anything configured it, as a Spark job has it). Each writes the same people into
its own rows of one table (encrypted text column, its blind index, a token column); then each
door reads every row back: the ORM loads and searches (blind index and token), ``Vault`` +
``vaultkit.columns`` decrypts and recomputes, the CLI detokenizes, Spark reveals, and ``vaultkit
reencrypt`` migrates every row after a rotation (it decrypts each). SQLite and the real
PostgreSQL.

Twice: with the encrypted column row-bound (``bind_row="auto"``, the default, on a key assigned
in code: each door binds the value to its row's key) and unbound (``bind_row=False``). The
ORM records the binding in the catalogue (``configure(..., engine=...)``), and ``vaultkit
reencrypt`` follows it without being told.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

from tests.cli._run import PASSPHRASE, env_for, ok, vk
from vaultkit import Vault
from vaultkit.cli import _fakedata
from vaultkit.columns import (
    blind_index_input,
    codec_for,
    column_context,
    encode_value,
    format_token,
    parse_token,
    row_key,
)
from vaultkit.errors import DecryptionError
from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, Tokenized, configure
from vaultkit.keys import KeyRing, LocalKMS

# pyspark is installed with the test dependencies (the dev extra), so the Spark door runs with
# make test; a checkout without it cannot run this module at all
pytest.importorskip("pyspark", reason="pyspark (the dev extra) is not installed: no Spark door")

TABLE = "xd_customers"
ID_KEY, INDEX_KEY, CARD_KEY = "xd.id_no", "xd.id_no.bidx", "xd.card"
BITS = 16
PEOPLE = 12
DOORS = ("orm", "reencrypt", "cli", "vault", "spark")
ID_DOORS = tuple(d for d in DOORS if d != "cli")  # the CLI filters write tokens only


class Plain(DeclarativeBase):
    pass


class Legacy(Plain):
    """The table as it is before protection (plaintext), and its raw stored values after."""

    __tablename__ = TABLE
    id = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    id_no = mapped_column(sa.Text)
    id_no_bidx = mapped_column(sa.LargeBinary(2))
    card_no = mapped_column(sa.String(80))


def models(bound: bool) -> tuple[Any, Any]:
    """The application's model: ``id_no`` row-bound by default (its key is assigned in code),
    or declared unbound."""

    class Base(DeclarativeBase):
        pass

    class Customer(Base):
        __tablename__ = TABLE
        id = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
        id_no = mapped_column(
            Encrypted(ID_KEY, storage="text", searchable=True, bind_row="auto" if bound else False)
        )
        id_no_bidx = mapped_column(BlindIndex(INDEX_KEY, source="id_no", bits=BITS))
        card_no = mapped_column(Tokenized(CARD_KEY, format="card"))

    return Base, Customer


def id_context(row: int, bound: bool) -> dict[str, str]:
    """The context of ``id_no`` in row ``row``: with the row's key when the column is bound."""
    return column_context(TABLE, "id_no", row_key([row]) if bound else None)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


def open_vault(ring: Path) -> Vault:
    return Vault(KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE)))


def row_id(door: str, person: int) -> int:
    return DOORS.index(door) * 1000 + person + 1


@pytest.mark.parametrize("bound", [True, False], ids=["row-bound", "unbound"])
def test_each_door_reads_what_every_other_door_wrote(
    tmp_path: Path, db_url: str, bound: bool, spark: Any
) -> None:
    ring = tmp_path / "ring.vk"
    with KeyRing.create(ring, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12)) as r:
        r.create_key(ID_KEY)
        r.create_key(INDEX_KEY, algorithm="HMAC-SM3")
        r.create_key(CARD_KEY, algorithm="FF1-SM4")
    env = env_for(ring)
    people = _fakedata.customers(PEOPLE, seed=15)
    engine = sa.create_engine(db_url, hide_parameters=True)
    Plain.metadata.drop_all(engine)
    Plain.metadata.create_all(engine)
    m = models(bound)
    spec = _spark_spec(spark, ring, tmp_path)
    try:
        _write_with_spark(spark, spec, engine, people, m)  # first: nothing configured m yet
        _write(engine, ring, env, db_url, people, m, bound)
        _check_stored_forms_agree(engine, people)
        with open_vault(ring) as vault:
            _read_with_orm(engine, vault, people, m)
            _read_with_vault(engine, vault, people, bound)
        _read_with_cli(engine, env, people)
        _read_with_spark(spark, spec, engine, people, m)
        _read_with_reencrypt(engine, ring, env, db_url, people)
        with open_vault(ring) as vault:  # after reencrypt migrated every door's rows
            _read_with_orm(engine, vault, people, m)
            _read_with_vault(engine, vault, people, bound)
        _read_with_cli(engine, env, people)
        _read_with_spark(spark, spec, engine, people, m)
    finally:
        Plain.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS vaultkit_columns")
        engine.dispose()


def test_spark_s_columns_form_binds_as_declared_and_the_orm_reads_it(
    tmp_path: Path, db_url: str, spark: Any
) -> None:
    """A Spark job with the ``columns=`` form (no model): ``bind_row=True`` writes what the
    application's model (``"auto"`` on a key assigned in code) reads and searches; the
    catalogue that model records then resolves a bare ``"auto"`` for Spark, and refuses a
    Spark job declaring the column unbound. Without it, a bare ``"auto"`` is refused: taken as
    unbound, as it was, it wrote values the ORM refuses to read (shown last)."""
    from vaultkit.errors import RowBindingError, UnboundValueError
    from vaultkit.ext.spark import protect, reveal

    ring = tmp_path / "ring.vk"
    with KeyRing.create(ring, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12)) as r:
        r.create_key(ID_KEY)
        r.create_key(INDEX_KEY, algorithm="HMAC-SM3")
        r.create_key(CARD_KEY, algorithm="FF1-SM4")
    people = _fakedata.customers(PEOPLE, seed=16)
    engine = sa.create_engine(db_url, hide_parameters=True)
    Plain.metadata.drop_all(engine)
    Plain.metadata.create_all(engine)
    spec = _spark_spec(spark, ring, tmp_path)
    ids = [row_id("spark", i) for i in range(len(people))]
    df = spark.createDataFrame(
        [(n, p.id_no, p.card_no) for n, p in zip(ids, people, strict=True)],
        "id long, id_no string, card_no string",
    )

    def declared(bind_row: bool | str) -> dict[str, Any]:
        return {
            "id_no": Encrypted(ID_KEY, storage="text", bind_row=bind_row),
            "id_no_bidx": BlindIndex(INDEX_KEY, source="id_no", bits=BITS),
            "card_no": Tokenized(CARD_KEY, format="card"),
        }

    def insert(rows: list[Any]) -> None:
        with engine.begin() as conn:
            conn.execute(
                Legacy.__table__.insert(),
                [
                    {
                        "id": r.id,
                        "id_no": r.id_no,
                        "id_no_bidx": bytes(r.id_no_bidx),
                        "card_no": r.card_no,
                    }
                    for r in rows
                ],
            )

    try:
        with pytest.raises(RowBindingError, match=f"table {TABLE}, column id_no"):
            protect(df, spec, columns=declared("auto"), table=TABLE, pk="id")
        insert(protect(df, spec, columns=declared(True), table=TABLE, pk="id").collect())
        Base, Customer = models(bound=True)
        with open_vault(ring) as vault:
            configure(vault, Base, engine=engine)  # records id_no as bound to the primary key
            with Session(engine) as s:
                got = {c.id: (c.id_no, c.card_no) for c in s.scalars(sa.select(Customer))}
                assert got == {n: (p.id_no, p.card_no) for n, p in zip(ids, people, strict=True)}
                found = s.scalars(sa.select(Customer.id).where(Customer.id_no == people[3].id_no))
                assert list(found) == [ids[3]]
        stored = spark.createDataFrame(
            [(n, v[0], v[1], v[2]) for n, v in sorted(_raw(engine).items())],
            "id long, id_no string, id_no_bidx binary, card_no string",
        )
        # the catalogue the ORM recorded resolves a bare "auto" for Spark (read on the driver)
        opened = reveal(
            stored, spec, columns=declared("auto"), table=TABLE, pk="id", catalog=engine
        )
        assert {r.id: r.id_no for r in opened.collect()} == {
            n: p.id_no for n, p in zip(ids, people, strict=True)
        }
        with pytest.raises(RowBindingError, match="the catalogue records it as bound"):
            protect(df, spec, columns=declared(False), table=TABLE, catalog=engine)
        # what the refused guess would have written: values the ORM does not open
        stray = df.where(f"id = {ids[0]}").selectExpr(f"id + {PEOPLE} as id", "id_no", "card_no")
        insert(protect(stray, spec, columns=declared(False), table=TABLE).collect())
        with open_vault(ring) as vault, Session(engine) as s:
            configure(vault, Base)
            query = sa.select(Customer).where(Customer.id == ids[0] + PEOPLE)
            with pytest.raises(UnboundValueError):
                _ = s.scalars(query).one().id_no  # the read is the test
    finally:
        Plain.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS vaultkit_columns")
        engine.dispose()


# -- writers ------------------------------------------------------------------------------------
def _write(
    engine: sa.Engine,
    ring: Path,
    env: dict[str, str],
    url: str,
    people: list,
    m: tuple[Any, Any],
    bound: bool,
) -> None:
    Base, Customer = m
    with open_vault(ring) as vault:
        configure(vault, Base, engine=engine)  # records id_no's binding in the catalogue
        with Session(engine) as s, s.begin():  # the ORM
            s.add_all(
                Customer(id=row_id("orm", i), id_no=p.id_no, card_no=p.card_no)
                for i, p in enumerate(people)
            )
        # Vault directly, with the column format's owner
        version = vault.keys.primary_key(CARD_KEY).version
        with engine.begin() as conn:
            for i, p in enumerate(people):
                ctx = column_context(TABLE, "id_no")  # (the blind index binds the column)
                token = vault.tokenize(
                    CARD_KEY,
                    p.card_no,
                    format="card",
                    context=column_context(TABLE, "card_no"),
                    version=version,
                )
                conn.execute(
                    Legacy.__table__.insert(),
                    {
                        "id": row_id("vault", i),
                        "id_no": vault.encrypt_text(
                            ID_KEY,
                            encode_value(p.id_no),
                            context=id_context(row_id("vault", i), bound),
                        ),
                        "id_no_bidx": vault.blind_index(
                            INDEX_KEY, blind_index_input((p.id_no,)), context=ctx, bits=BITS
                        ),
                        "card_no": format_token(version, token),
                    },
                )
    # the CLI filter (tokens only: there is no encrypt filter)
    out = ok(
        vk(
            "tokenize",
            "--key",
            CARD_KEY,
            "--format",
            "card",
            "--table",
            TABLE,
            "--column",
            "card_no",
            "--stored",
            env=env,
            stdin="".join(p.card_no + "\n" for p in people),
        )
    )
    stored = out.splitlines()
    assert len(stored) == PEOPLE
    with engine.begin() as conn:
        conn.execute(
            Legacy.__table__.insert(),
            [{"id": row_id("cli", i), "card_no": t} for i, t in enumerate(stored)],
        )
        # reencrypt --from-plaintext: plaintext rows, protected in place by the console script
        conn.execute(
            Legacy.__table__.insert(),
            [
                {"id": row_id("reencrypt", i), "id_no": p.id_no, "card_no": p.card_no}
                for i, p in enumerate(people)
            ],
        )
    base = ("reencrypt", "--db", url, "--table", TABLE, "--yes", "--json")
    for args in (
        (
            "--column",
            "id_no",
            "--from-plaintext",
            "--key",
            ID_KEY,
            "--blind-index",
            f"id_no:id_no_bidx:{INDEX_KEY}:{BITS}",
            "--accept-identifying",  # the ORM models' fixed length, outside the planner's range
        ),
        ("--column", "card_no", "--from-plaintext", "--key", CARD_KEY, "--format", "card"),
    ):
        summary = json.loads(ok(vk(*base, *args, env=env)))
        assert summary["complete"] and summary["rewritten"] == PEOPLE


def _spark_spec(spark: Any, ring: Path, tmp_path: Path) -> Any:
    """The ring at its path (not shipped: local[2]'s executors share this file system, and see
    the rotation), its passphrase from a file as a mounted secret would be."""
    from vaultkit.ext.spark import VaultSpec

    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    with KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE)) as r:
        ring_id = r.ring_id
    spec = VaultSpec(ring=str(ring), ring_id=ring_id, secret=f"file:{secret}", ship=False)
    return spec.distribute(spark)


def _write_with_spark(
    spark: Any, spec: Any, engine: sa.Engine, people: list, m: tuple[Any, Any]
) -> None:
    """A Spark job protects the people with the application's model; its rows are stored as
    they are (through SQLAlchemy Core: the JDBC write is not what is checked here)."""
    from vaultkit.ext.spark import protect

    df = spark.createDataFrame(
        [(row_id("spark", i), p.id_no, p.card_no) for i, p in enumerate(people)],
        "id long, id_no string, card_no string",
    )
    stored = protect(df, spec, model=m[1]).collect()
    assert [r.id for r in stored] == [row_id("spark", i) for i in range(len(people))]
    with engine.begin() as conn:
        conn.execute(
            Legacy.__table__.insert(),
            [
                {
                    "id": r.id,
                    "id_no": r.id_no,
                    "id_no_bidx": bytes(r.id_no_bidx),
                    "card_no": r.card_no,
                }
                for r in stored
            ],
        )


def _raw(engine: sa.Engine) -> dict[int, tuple[str | None, bytes | None, str | None]]:
    t = Legacy.__table__
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.id, t.c.id_no, t.c.id_no_bidx, t.c.card_no)).all()
    return {r[0]: (r[1], None if r[2] is None else bytes(r[2]), r[3]) for r in rows}


def _check_stored_forms_agree(engine: sa.Engine, people: list) -> None:
    """Deterministic parts are byte-identical across doors: the blind index of one value, and
    its stored token (FF1 under the same key version and column context)."""
    raw = _raw(engine)
    for i in range(len(people)):
        indexes = {raw[row_id(d, i)][1] for d in ID_DOORS}
        assert len(indexes) == 1 and None not in indexes
        tokens = {raw[row_id(d, i)][2] for d in DOORS}
        assert len(tokens) == 1 and None not in tokens


# -- readers ------------------------------------------------------------------------------------
def _read_with_orm(engine: sa.Engine, vault: Vault, people: list, m: tuple[Any, Any]) -> None:
    Base, Customer = m
    configure(vault, Base)
    with Session(engine) as s:
        got = {c.id: (c.id_no, c.card_no) for c in s.scalars(sa.select(Customer))}
        for i, p in enumerate(people):
            assert got[row_id("cli", i)] == (None, p.card_no)
            for d in ID_DOORS:
                assert got[row_id(d, i)] == (p.id_no, p.card_no)
        target = people[5]
        by_id = s.scalars(sa.select(Customer.id).where(Customer.id_no == target.id_no)).all()
        assert sorted(by_id) == sorted(row_id(d, 5) for d in ID_DOORS)
        by_card = s.scalars(sa.select(Customer.id).where(Customer.card_no == target.card_no))
        assert sorted(by_card) == sorted(row_id(d, 5) for d in DOORS)


def _read_with_vault(engine: sa.Engine, vault: Vault, people: list, bound: bool) -> None:
    str_codec = codec_for(str)
    ctx = column_context(TABLE, "id_no")
    for row, (id_no, bidx, card) in _raw(engine).items():
        p = people[row % 1000 - 1]
        if id_no is not None:
            plain = vault.decrypt(id_no, context=id_context(row, bound))
            assert str_codec.decode(plain) == p.id_no
            if bound:  # and nowhere else: not under the column-only context
                with pytest.raises(DecryptionError):
                    vault.decrypt(id_no, context=ctx)
            candidates = vault.blind_index_candidates(
                INDEX_KEY, blind_index_input((p.id_no,)), context=ctx, bits=BITS
            )
            assert bidx in candidates
        assert card is not None
        version, token = parse_token(card)
        plain = vault.detokenize(
            CARD_KEY,
            token,
            format="card",
            context=column_context(TABLE, "card_no"),
            version=version,
        )
        assert plain == p.card_no


def _read_with_cli(engine: sa.Engine, env: dict[str, str], people: list) -> None:
    raw = sorted(_raw(engine).items())
    out = ok(
        vk(
            "detokenize",
            "--key",
            CARD_KEY,
            "--format",
            "card",
            "--table",
            TABLE,
            "--column",
            "card_no",
            "--stored",
            env=env,
            stdin="".join(f"{card}\n" for _, (_, _, card) in raw),
        )
    )
    assert out.splitlines() == [people[row % 1000 - 1].card_no for row, _ in raw]


def _read_with_spark(
    spark: Any, spec: Any, engine: sa.Engine, people: list, m: tuple[Any, Any]
) -> None:
    """Spark reveals every door's rows as stored (read through SQLAlchemy Core)."""
    from vaultkit.ext.spark import reveal

    raw = sorted(_raw(engine).items())
    df = spark.createDataFrame(
        [(row, id_no, bidx, card) for row, (id_no, bidx, card) in raw],
        "id long, id_no string, id_no_bidx binary, card_no string",
    )
    opened = {r.id: (r.id_no, r.card_no) for r in reveal(df, spec, model=m[1]).collect()}
    assert len(opened) == len(raw)
    for row, got in opened.items():
        p = people[row % 1000 - 1]
        assert got == (None if row // 1000 == DOORS.index("cli") else p.id_no, p.card_no)


def _read_with_reencrypt(
    engine: sa.Engine, ring: Path, env: dict[str, str], url: str, people: list
) -> None:
    """Rotate every key; ``vaultkit reencrypt`` must open each door's value to migrate it."""
    with KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE)) as r:
        for name in (ID_KEY, CARD_KEY):
            r.rotate_key(name)
    base = ("reencrypt", "--db", url, "--table", TABLE, "--yes", "--json")
    for args, rows in (
        (("--column", "id_no"), len(ID_DOORS) * len(people)),
        (("--column", "card_no", "--key", CARD_KEY, "--format", "card"), len(DOORS) * len(people)),
    ):
        summary = json.loads(ok(vk(*base, *args, env=env)))
        assert summary["complete"] and summary["rewritten"] == rows
        assert [v["version"] for v in summary["columns"][0]["by_version"]] == [2]
