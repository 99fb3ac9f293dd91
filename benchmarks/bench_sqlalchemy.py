"""SQLAlchemy integration (issue 6): 10,000 rows, one encrypted column plus its blind index.

Rows per group, all on the same SQLite file database, same rows, same run:

* ``plain String`` (no protection): the baseline; vaultkit's targets are "at most 3x" on a Core
  select (ratio 1/3) and "at most 4x" on a Core insert (ratio 1/4);
* sqlalchemy-utils ``StringEncryptedType(String, key, AesGcmEngine)``: the peer; vaultkit's
  Core select must be at least 8x faster;
* vaultkit ``Encrypted("...", searchable=True)`` + ``BlindIndex`` on an engine passed to
  ``configure(..., engine=...)`` (the batch paths), and the same on an engine without them
  (per-value path), for reference.

ORM figures (``Session.scalars(select(Model)).all()`` and ``add_all`` + ``commit``) are
reported without targets.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Integer, String, Table, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy_utils import StringEncryptedType
from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine

from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, configure
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.vault import Vault

ROWS = 10_000
PLAIN = "plain String (no protection)"
PEER = "sqlalchemy-utils StringEncryptedType(AesGcmEngine)"
VK = "vaultkit Encrypted + BlindIndex (batch paths)"
VK_PER_VALUE = "vaultkit Encrypted + BlindIndex (per-value path)"
PEER_KEY = "a key for the sqlalchemy-utils peer"


class Base(DeclarativeBase):
    pass


class PlainCustomer(Base):
    __tablename__ = "plain_customers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_no = mapped_column(String(18), index=True)


class PeerCustomer(Base):
    __tablename__ = "peer_customers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_no = mapped_column(StringEncryptedType(String, PEER_KEY, AesGcmEngine))


class VkCustomer(Base):
    __tablename__ = "vk_customers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_no = mapped_column(Encrypted("customers.id_no", kind="cn_id", searchable=True))
    id_no_bidx = mapped_column(
        BlindIndex("customers.id_no.bidx", source="id_no", bits=16), index=True
    )


MODELS = {PLAIN: PlainCustomer, PEER: PeerCustomer, VK: VkCustomer, VK_PER_VALUE: VkCustomer}


class World:
    """A key ring, a Vault and two engines (with and without the batch paths)."""

    def __init__(self, root: Path) -> None:
        kms = LocalKMS(passphrase="benchmark passphrase", scrypt_n=2**10)
        self.ring = KeyRing.create(root / "keyring.vk", kms)
        self.ring.create_key("customers.id_no", algorithm="SM4-GCM")
        self.ring.create_key("customers.id_no.bidx", algorithm="HMAC-SM3")
        self.vault = Vault(self.ring)
        self.batched = create_engine(f"sqlite:///{root / 'batched.sqlite'}", hide_parameters=True)
        self.per_value = create_engine(
            f"sqlite:///{root / 'per_value.sqlite'}", hide_parameters=True
        )
        configure(self.vault, Base, engine=self.batched)
        for e in (self.batched, self.per_value):
            Base.metadata.create_all(e)

    def engine(self, label: str) -> Engine:
        return self.per_value if label == VK_PER_VALUE else self.batched

    def close(self) -> None:
        for e in (self.batched, self.per_value):
            e.dispose()
        self.vault.close()
        self.ring.close()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory(prefix="vaultkit-bench-sa-") as root:
        w = World(Path(root))
        yield w
        w.close()


def _rows(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "id_no": f"110105{19490101 + i % 9000:08d}{i % 1000:03d}X"} for i in range(n)]


def _table(label: str) -> Table:
    return MODELS[label].__table__  # type: ignore[return-value]


def _fill(world: World, label: str, n: int) -> None:
    table = _table(label)
    with world.engine(label).begin() as conn:
        conn.execute(table.delete())
        conn.execute(table.insert(), _rows(n))


def _targets(label: str, select_: bool) -> dict[str, float] | None:
    if label != VK:
        return None
    if select_:
        return {PLAIN: 1 / 3, PEER: 8.0}
    return {PLAIN: 1 / 4}


def _role(label: str) -> str:
    return "vaultkit" if label.startswith("vaultkit") else "peer"


LABELS = [PLAIN, PEER, VK, VK_PER_VALUE]


@pytest.mark.benchmark(
    group="SQLAlchemy Core select: 10,000 rows, 1 encrypted column + blind index"
)
@pytest.mark.parametrize("label", LABELS)
def test_core_select(bench: Any, world: World, label: str) -> None:
    n = bench.scaled(ROWS)
    _fill(world, label, n)
    table = _table(label)
    engine = world.engine(label)

    def run() -> list[Any]:
        with engine.connect() as conn:
            return conn.execute(select(table)).all()

    rows = bench.run(run, role=_role(label), label=label, items=n, targets=_targets(label, True))
    assert len(rows) == n and rows[0].id_no == _rows(1)[0]["id_no"]


@pytest.mark.benchmark(
    group="SQLAlchemy Core insert: 10,000 rows, 1 encrypted column + blind index"
)
@pytest.mark.parametrize("label", LABELS)
def test_core_insert(bench: Any, world: World, label: str) -> None:
    n = bench.scaled(ROWS)
    rows = _rows(n)
    table = _table(label)
    engine = world.engine(label)

    def run() -> None:
        with engine.begin() as conn:
            conn.execute(table.delete())
            conn.execute(table.insert(), rows)

    bench.run(run, role=_role(label), label=label, items=n, targets=_targets(label, False))
    with engine.connect() as conn:
        assert conn.execute(select(table).where(table.c.id == 0)).one().id_no == rows[0]["id_no"]


@pytest.mark.benchmark(
    group="SQLAlchemy ORM load: 10,000 objects, 1 encrypted column + blind index"
)
@pytest.mark.parametrize("label", LABELS)
def test_orm_select(bench: Any, world: World, label: str) -> None:
    n = bench.scaled(ROWS)
    _fill(world, label, n)
    model = MODELS[label]
    engine = world.engine(label)

    def run() -> list[Any]:
        with Session(engine) as s:
            return list(s.scalars(select(model)))

    got = bench.run(run, role=_role(label), label=label, items=n)
    assert len(got) == n


@pytest.mark.benchmark(
    group="SQLAlchemy ORM insert: 10,000 objects, 1 encrypted column + blind index"
)
@pytest.mark.parametrize("label", LABELS)
def test_orm_insert(bench: Any, world: World, label: str) -> None:
    n = bench.scaled(ROWS)
    rows = _rows(n)
    model = MODELS[label]
    engine = world.engine(label)

    def run() -> None:
        with engine.begin() as conn:
            conn.execute(_table(label).delete())
        with Session(engine) as s:
            s.add_all(model(**r) for r in rows)
            s.commit()

    bench.run(run, role=_role(label), label=label, items=n)


@pytest.mark.benchmark(group="SQLAlchemy search: id_no == value through the blind index")
@pytest.mark.parametrize("label", [PLAIN, VK])
def test_equality_search(bench: Any, world: World, label: str) -> None:
    n = bench.scaled(ROWS)
    _fill(world, label, n)
    model = MODELS[label]
    wanted = [r["id_no"] for r in _rows(n)[:: max(1, n // 100)]]
    engine = world.engine(label)

    def run() -> int:
        found = 0
        with engine.connect() as conn:
            for v in wanted:
                found += len(conn.execute(select(model.id).where(model.id_no == v)).all())
        return found

    found = bench.run(run, role=_role(label), label=label, items=len(wanted))
    assert found >= len(wanted)
