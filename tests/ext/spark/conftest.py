"""The Spark tests' key ring and VaultSpec; the SparkSession itself (``spark``, ``spark_dirs``)
is the session's shared one, from tests/_spark.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._spark import JDBC_JAR, PASSPHRASE, ROOT, SECRET_VARIABLES
from tests.ext.models import KEYS
from vaultkit.ext.spark import VaultSpec
from vaultkit.keys import KeyRing, LocalKMS

__all__ = ["JDBC_JAR", "PASSPHRASE", "ROOT", "SECRET_VARIABLES"]


@pytest.fixture(scope="session")
def spark_ring(spark_dirs: Path) -> Iterator[KeyRing]:
    """A ring with the ORM test models' keys, opened by the passphrase of ``spark_dirs``."""
    ring = KeyRing.create(
        spark_dirs / "keyring.vk", LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**10)
    )
    for name, algorithm in KEYS.items():
        ring.create_key(name, algorithm=algorithm)
    yield ring
    ring.close()


@pytest.fixture(scope="session")
def spec(spark: object, spark_ring: KeyRing, spark_dirs: Path) -> VaultSpec:
    s = VaultSpec(
        ring=str(spark_ring.path),
        ring_id=spark_ring.ring_id,
        secret=f"file:{spark_dirs / 'passphrase'}",
    )
    return s.distribute(spark)
