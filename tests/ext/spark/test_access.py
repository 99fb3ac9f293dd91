"""``VaultSpec(principal=...)``: the key ring's access grants apply to every worker's Vault. A
principal without the tokenize grant fails ``protect`` with a named AccessDeniedError (no
plaintext in what Spark surfaces), one with it works, and the audit events name the principal."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.ext.models import KEYS, Customer
from tests.ext.spark._data import frame, rows
from tests.ext.spark.conftest import PASSPHRASE
from vaultkit.errors import InputFormatError
from vaultkit.ext.spark import VaultSpec, protect
from vaultkit.keys import KeyRing, LocalKMS

N = 40


@pytest.fixture(scope="module")
def granted(
    spark: Any, spark_dirs: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """A ring with grants: ``spark-etl`` may tokenize and encrypt, ``spark-reader`` may only
    detokenize (a copy under its own name is shipped)."""
    path = tmp_path_factory.mktemp("access") / "grants.vk"
    ring = KeyRing.create(path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**10))
    for name, algorithm in KEYS.items():
        ring.create_key(name, algorithm=algorithm)
    ring.grant("spark-etl", "customers.*", {"tokenize", "encrypt"})
    ring.grant("spark-reader", "customers.card", {"detokenize"})
    copy = spark_dirs / "grants.vk"
    shutil.copy(path, copy)
    ring_id = ring.ring_id
    ring.close()
    return copy, ring_id


def _spec(
    spark: Any, granted: tuple[Path, str], spark_dirs: Path, principal: str | None
) -> VaultSpec:
    ring, ring_id = granted
    return VaultSpec(
        ring=str(ring),
        ring_id=ring_id,
        secret=f"file:{spark_dirs / 'passphrase'}",
        audit="tests.ext.spark.sinks:counting",
        principal=principal,
    ).distribute(spark)


def _events(spark_dirs: Path) -> list[list[str]]:
    log = spark_dirs / "audit.log"
    return [w for w in (line.split() for line in log.read_text().splitlines()) if w[0] == "event"]


def test_a_principal_without_the_grant_is_refused_by_name(
    spark: Any, spark_dirs: Path, granted: tuple[Path, str]
) -> None:
    spec = _spec(spark, granted, spark_dirs, "spark-reader")
    (spark_dirs / "audit.log").unlink(missing_ok=True)
    with pytest.raises(Exception, match="AccessDeniedError") as info:
        protect(frame(spark, N, partitions=2), spec, model=Customer, columns=["card_no"]).collect()
    text = str(info.value)
    assert "principal 'spark-reader' may not tokenize on key 'customers.card'" in text
    plaintexts = [r["card_no"] for r in rows(N) if r["card_no"]]
    assert plaintexts and not any(p in text for p in plaintexts)
    assert PASSPHRASE not in text
    denied = [w for w in _events(spark_dirs) if w[6:] == ["spark-reader", "denied"]]
    assert denied and {(w[2], w[3]) for w in denied} == {("tokenize", "customers.card")}


def test_a_principal_with_the_grant_works_and_is_audited(
    spark: Any, spark_dirs: Path, granted: tuple[Path, str]
) -> None:
    spec = _spec(spark, granted, spark_dirs, "spark-etl")
    (spark_dirs / "audit.log").unlink(missing_ok=True)
    out = protect(
        frame(spark, N, partitions=2), spec, model=Customer, columns=["card_no", "name"]
    ).collect()
    assert len(out) == N
    assert all(r.card_no is None or r.card_no.startswith("1:") for r in out)
    # only this principal's events: a task of the previous test's aborted job may still be
    # finishing (Spark cancels the job's other tasks asynchronously) and log its own denial
    events = [w for w in _events(spark_dirs) if w[6] == "spark-etl"]
    assert {(w[2], w[3]) for w in events} == {
        ("tokenize", "customers.card"),
        ("encrypt", "customers.name"),
    }
    assert {w[7] for w in events} == {"ok"}


def test_a_ring_with_grants_refuses_a_spec_without_a_principal(
    spark: Any, spark_dirs: Path, granted: tuple[Path, str]
) -> None:
    spec = _spec(spark, granted, spark_dirs, None)
    with pytest.raises(Exception, match="AccessDeniedError") as info:
        protect(frame(spark, 4, partitions=1), spec, model=Customer, columns=["name"]).collect()
    assert "pass Vault(..., principal=...)" in str(info.value)


def test_the_principal_is_checked_on_the_driver() -> None:
    with pytest.raises(InputFormatError, match="a principal is"):
        VaultSpec(ring="/r.vk", ring_id="0" * 32, secret="env:P", principal="no spaces")
