"""Shared set-up of the re-encryption tests: a key ring, a customers table, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from vaultkit import Vault
from vaultkit.cli import _fakedata
from vaultkit.columns import column_context
from vaultkit.keys import KeyRing, LocalKMS

PASSPHRASE = "test passphrase, not a secret"
BITS = 16
TABLE = "rk_customers"
ID_KEY, MOBILE_KEY, INDEX_KEY = "customers.id_no", "customers.mobile", "customers.mobile.bidx"


ctx = column_context  # the stored-column format's owner (vaultkit.columns)


@dataclass
class Setup:
    ring_path: Path
    url: str
    originals: dict[int, tuple[str, str]]  # id -> (id_no, mobile)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "VAULTKIT_PASSPHRASE": PASSPHRASE,
            "VAULTKIT_KEYRING": str(self.ring_path),
        }

    def vault(self) -> Vault:
        return Vault(KeyRing.open(self.ring_path, LocalKMS(passphrase=PASSPHRASE)))


def new_ring(path: Path) -> None:
    ring = KeyRing.create(path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12))
    ring.create_key(ID_KEY)
    ring.create_key(MOBILE_KEY, algorithm="AES-256-GCM")
    ring.create_key(INDEX_KEY, algorithm="HMAC-SM3")
    ring.close()


def customers_table(md: sa.MetaData) -> sa.Table:
    return sa.Table(
        TABLE,
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("id_no", sa.LargeBinary),  # binary form
        sa.Column("mobile", sa.String(200)),  # text form
        sa.Column("mobile_bidx", sa.LargeBinary(2), index=True),
    )


def populate(setup_dir: Path, url: str, n: int, *, seed: int = 1) -> Setup:
    ring_path = setup_dir / "ring.vk"
    new_ring(ring_path)
    s = Setup(ring_path, url, {})
    people = _fakedata.customers(n, seed=seed)
    s.originals = {i + 1: (p.id_no, p.mobile) for i, p in enumerate(people)}
    engine = sa.create_engine(url)
    md = sa.MetaData()
    t = customers_table(md)
    md.drop_all(engine)
    md.create_all(engine)
    with s.vault() as v, engine.begin() as conn:
        ids = v.encrypt_many(ID_KEY, [p.id_no for p in people], context=ctx(TABLE, "id_no"))
        mobiles = v.encrypt_text_many(
            MOBILE_KEY, [p.mobile for p in people], context=ctx(TABLE, "mobile")
        )
        bidx = v.blind_index_many(
            INDEX_KEY, [p.mobile for p in people], context=ctx(TABLE, "mobile"), bits=BITS
        )
        conn.execute(
            t.insert(),
            [
                {"id": i + 1, "id_no": ids[i], "mobile": mobiles[i], "mobile_bidx": bidx[i]}
                for i in range(n)
            ],
        )
    engine.dispose()
    return s


def rotate(s: Setup, *names: str) -> None:
    ring = KeyRing.open(s.ring_path, LocalKMS(passphrase=PASSPHRASE))
    for name in names:
        ring.rotate_key(name)
    ring.close()


def cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vaultkit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def read_all(s: Setup) -> list[sa.Row]:
    engine = sa.create_engine(s.url)
    t = customers_table(sa.MetaData())
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.id)).all()
    engine.dispose()
    return rows


def verify_all(s: Setup, *, expect_version: int, expected: dict[int, tuple[str, str]]) -> None:
    """Every row decrypts to ``expected``, under ``expect_version``; none lost or duplicated;
    the blind index finds every row."""
    from vaultkit import envelope

    rows = read_all(s)
    assert [r.id for r in rows] == sorted(expected), "rows lost or duplicated"
    with s.vault() as v:
        ids = v.decrypt_text_many([r.id_no for r in rows], context=ctx(TABLE, "id_no"))
        mobiles = v.decrypt_text_many([r.mobile for r in rows], context=ctx(TABLE, "mobile"))
        assert {r.id: (a, b) for r, a, b in zip(rows, ids, mobiles)} == expected
        assert {envelope.inspect(r.id_no).version for r in rows} == {expect_version}
        assert {envelope.inspect(r.mobile).version for r in rows} == {expect_version}
        bidx = v.blind_index_many(
            INDEX_KEY,
            [m for _, m in expected.values()],
            context=ctx(TABLE, "mobile"),
            bits=BITS,
        )
        assert [r.mobile_bidx for r in rows] == bidx
    # the index column still finds rows through the database index
    engine = sa.create_engine(s.url)
    t = customers_table(sa.MetaData())
    with engine.connect() as conn:
        for r in rows[:: max(1, len(rows) // 50)]:
            found = conn.execute(sa.select(t.c.id).where(t.c.mobile_bidx == r.mobile_bidx)).all()
            assert r.id in {f.id for f in found}
    engine.dispose()
