"""The test session's one local[2] SparkSession (a plugin of tests/conftest.py, so the Spark
tests and the cross-door test share it): started once, with the secrets removed from the
environment before its JVM starts (in local mode executors inherit the driver's environment, so
a test of secret delivery proves nothing otherwise), two shuffle partitions, an event log in a
temp dir and the UI on a free loopback port (the secret-exposure tests read both), and Debian's
PostgreSQL JDBC driver on the class path. pyspark is imported only when a test asks for it."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JDBC_JAR = "/usr/share/java/postgresql.jar"
PASSPHRASE = "spark test passphrase"
SECRET_VARIABLES = ("VAULTKIT_PASSPHRASE", "VAULTKIT_PKCS11_PIN", "VAULTKIT_NEW_PASSPHRASE")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    local_ip = os.environ.get("SPARK_LOCAL_IP")
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # the driver and its UI on loopback
    session = (
        SparkSession.builder.master("local[2]")
        .appName("vaultkit-tests")
        .config("spark.ui.enabled", "true")
        .config("spark.ui.port", str(_free_port()))
        .config("spark.ui.showConsoleProgress", "false")
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
        if local_ip is None:
            os.environ.pop("SPARK_LOCAL_IP", None)
        else:
            os.environ["SPARK_LOCAL_IP"] = local_ip
        if path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = path
