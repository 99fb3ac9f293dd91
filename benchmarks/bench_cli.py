"""CLI area benchmarks: online re-encryption and KEK rotation.

* ``reencrypt``: 100,000 rows with 2 encrypted columns (binary and text form) on SQLite, moved
  from key version 1 to 2 by :class:`vaultkit.reencrypt.Reencryptor` (survey, batched
  compare-and-set passes and the final verification pass all inside the timing). Target:
  at least 20,000 rows/s on the 2-core CI machine. Peer: what a sqlalchemy-utils user does to
  rotate ``StringEncryptedType(AesGcmEngine)`` columns (it has no key versions): read every row
  through the old key's type and write it back through the new key's type, with Core
  executemany (the peer's best case; the ORM per-row loop is slower still).
* ``kek rotate``: ``KeyRing.rotate_kek`` on a ring of 1,000 keys (local passphrase KMS). Target:
  under 1 s. It rewraps DEKs only and never touches data, so there is no data-side peer.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from vaultkit import Vault
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.reencrypt import Reencryptor

PASSPHRASE = "bench passphrase (not a secret)"
ROWS = 100_000
PEER_ROWS = 10_000
GROUP_REENCRYPT = "reencrypt: rows with 2 encrypted columns moved to a new key version (SQLite)"
PEER_LABEL = "sqlalchemy-utils StringEncryptedType re-key (Core select + executemany)"


def _table(md: sa.MetaData) -> sa.Table:
    return sa.Table(
        "customers",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("id_no", sa.LargeBinary),
        sa.Column("mobile", sa.Text),
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Any:
    from vaultkit.cli import _fakedata

    smoke = bool(request.config.getoption("benchmark_disable", False))
    rows = ROWS // 100 if smoke else ROWS
    where = tmp_path_factory.mktemp("bench_cli")
    ring = KeyRing.create(where / "ring.vk", LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12))
    ring.create_key("ids")
    ring.create_key("mobiles")
    pristine = where / "pristine.db"
    engine = sa.create_engine(f"sqlite:///{pristine}")
    md = sa.MetaData()
    t = _table(md)
    md.create_all(engine)
    people = _fakedata.customers(rows, seed=5)
    with Vault(ring) as vault, engine.begin() as conn:
        ids = vault.encrypt_many(
            "ids", [p.id_no for p in people], context={"table": "customers", "column": "id_no"}
        )
        mobiles = vault.encrypt_text_many(
            "mobiles",
            [p.mobile for p in people],
            context={"table": "customers", "column": "mobile"},
        )
        conn.execute(
            t.insert(), [{"id": i + 1, "id_no": ids[i], "mobile": mobiles[i]} for i in range(rows)]
        )
    engine.dispose()
    ring.rotate_key("ids")
    ring.rotate_key("mobiles")
    yield {"where": where, "ring": ring, "pristine": pristine, "rows": rows, "people": people}
    ring.close()


@pytest.mark.benchmark(group=GROUP_REENCRYPT)
def test_reencrypt_vaultkit(benchmark: Any, world: Any) -> None:
    work = world["where"] / "work.db"
    engine = sa.create_engine(f"sqlite:///{work}")
    vault = Vault(world["ring"])
    summaries = []

    def reset() -> tuple[tuple[()], dict[str, Any]]:
        engine.dispose()
        shutil.copyfile(world["pristine"], work)
        return (), {}

    def run() -> None:
        job = Reencryptor(
            engine, vault, table="customers", columns=["id_no", "mobile"], batch_size=2000
        )
        summaries.append(job.run())

    benchmark.extra_info.update(
        role="vaultkit",
        label="vaultkit Reencryptor (reencrypt)",
        items=world["rows"],
        targets={PEER_LABEL: 2},
    )
    benchmark.pedantic(run, setup=reset, rounds=3, iterations=1)
    last = summaries[-1]
    assert last.complete and last.rewritten == 2 * world["rows"]
    benchmark.extra_info["rows_per_second"] = round(world["rows"] / last.seconds)
    engine.dispose()
    vault.close()


@pytest.mark.benchmark(group=GROUP_REENCRYPT)
def test_reencrypt_peer_sqlalchemy_utils(benchmark: Any, world: Any) -> None:
    import os

    from sqlalchemy_utils import StringEncryptedType
    from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine

    rows = min(PEER_ROWS, world["rows"])
    old_key, new_key = os.urandom(32).hex(), os.urandom(32).hex()

    def table(key: str) -> sa.Table:
        return sa.Table(
            "peer",
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("id_no", StringEncryptedType(sa.String, key, AesGcmEngine)),
            sa.Column("mobile", StringEncryptedType(sa.String, key, AesGcmEngine)),
        )

    pristine = world["where"] / "peer-pristine.db"
    work = world["where"] / "peer.db"
    engine = sa.create_engine(f"sqlite:///{pristine}")
    old, new = table(old_key), table(new_key)
    old.metadata.create_all(engine)
    people = world["people"][:rows]
    with engine.begin() as conn:
        conn.execute(
            old.insert(),
            [{"id": i + 1, "id_no": p.id_no, "mobile": p.mobile} for i, p in enumerate(people)],
        )
    engine.dispose()
    engine = sa.create_engine(f"sqlite:///{work}")

    def reset() -> tuple[tuple[()], dict[str, Any]]:
        engine.dispose()
        shutil.copyfile(pristine, work)
        return (), {}

    def run() -> None:
        with engine.begin() as conn:
            plain = conn.execute(sa.select(old)).all()
            conn.execute(
                new.update()
                .where(new.c.id == sa.bindparam("b_id"))
                .values(id_no=sa.bindparam("b_id_no"), mobile=sa.bindparam("b_mobile")),
                [{"b_id": r.id, "b_id_no": r.id_no, "b_mobile": r.mobile} for r in plain],
            )

    benchmark.extra_info.update(role="peer", label=PEER_LABEL, items=rows)
    benchmark.pedantic(run, setup=reset, rounds=3, iterations=1)
    with engine.connect() as conn:
        assert conn.execute(sa.select(new.c.id_no).where(new.c.id == 1)).scalar() == people[0].id_no
    engine.dispose()


@pytest.mark.benchmark(group="kek rotate: KeyRing.rotate_kek on a ring of 1,000 keys")
def test_kek_rotate_1000_keys(benchmark: Any, tmp_path: Path) -> None:
    smoke = bool(getattr(benchmark, "disabled", False))
    keys = 10 if smoke else 1000
    ring = KeyRing.create(tmp_path / "big.vk", LocalKMS(passphrase=PASSPHRASE))
    for i in range(keys):
        ring.create_key(f"table{i // 10}.column{i % 10}")
    benchmark.extra_info.update(
        role="vaultkit", label="vaultkit kek rotate (local KMS)", items=keys
    )
    versions = []
    benchmark.pedantic(lambda: versions.append(ring.rotate_kek()), rounds=3, iterations=1)
    assert versions == sorted(versions) and len(ring.keys()) == keys
    ring.close()
