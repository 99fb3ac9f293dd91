"""One local[2] SparkSession for the whole session, started once, with the secrets removed from
the environment before its JVM starts (in local mode executors inherit the driver's
environment, so a test of secret delivery proves nothing otherwise), the UI off, two shuffle
partitions, an event log in a temp dir (the secret-exposure tests read it), and Debian's
PostgreSQL JDBC driver on the class path."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ext.models import KEYS
from vaultkit.ext.spark import VaultSpec
from vaultkit.keys import KeyRing, LocalKMS

ROOT = Path(__file__).resolve().parents[3]
JDBC_JAR = "/usr/share/java/postgresql.jar"
PASSPHRASE = "spark test passphrase"
SECRET_VARIABLES = ("VAULTKIT_PASSPHRASE", "VAULTKIT_PKCS11_PIN", "VAULTKIT_NEW_PASSPHRASE")


@pytest.fixture(scope="session")
def spark_dirs() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="vaultkit-spark-"))
    (root / "events").mkdir()
    secret = root / "passphrase"  # the executors' file: secret (as a mounted secret would be)
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    yield root


@pytest.fixture(scope="session")
def spark(spark_dirs: Path) -> Iterator[object]:
    from pyspark.sql import SparkSession

    saved = {k: os.environ.pop(k) for k in SECRET_VARIABLES if k in os.environ}
    # the workers import the tests' helpers (audit sinks, transforms) like the driver
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), path) if p)
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers run this venv's Python
    os.environ["VK_SPARK_TEST_DIR"] = str(spark_dirs)  # (tests.ext.spark.sinks; not a secret)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("vaultkit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
        .config("spark.eventLog.enabled", "true")
        .config("spark.eventLog.dir", str(spark_dirs / "events"))
        .config("spark.eventLog.compress", "false")  # (read as text by test_secrets)
        .config("spark.driver.extraClassPath", JDBC_JAR)
        .config("spark.executor.extraClassPath", JDBC_JAR)
        .config("spark.driver.memory", "768m")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        os.environ.update(saved)
        if path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = path


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
