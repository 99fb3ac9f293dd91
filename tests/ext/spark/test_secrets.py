"""Secret delivery: the driver's environment holds no secret before the JVM starts (conftest), so
executors find it only at the spec's source; it never reaches Spark's configuration, its event
log, the UI's environment API or the workers' environment; distribute() refuses a clear-text
secret in executorEnv."""

from __future__ import annotations

import json
import os
import pickle
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.ext.models import Customer
from tests.ext.spark._data import frame
from tests.ext.spark.conftest import PASSPHRASE, SECRET_VARIABLES
from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.spark import SecretExposureError, VaultSpec, protect


def test_the_driver_started_the_jvm_without_a_secret(spark: Any) -> None:
    assert not any(v in os.environ for v in SECRET_VARIABLES)

    def env_of(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for _ in batches:
            values = [v for v in os.environ.values() if PASSPHRASE in v]
            yield pa.RecordBatch.from_pydict({"n": [len(values)]})

    found = spark.range(4).repartition(2).mapInArrow(env_of, "n long").collect()
    assert {r.n for r in found} == {0}


def test_env_source_without_the_variable_fails_with_a_named_error(
    spark: Any, spec: VaultSpec
) -> None:
    missing = VaultSpec(ring=spec.ring, ring_id=spec.ring_id, secret="env:VK_SPARK_TEST_SECRET")
    df = frame(spark, 4, partitions=1)
    with pytest.raises(Exception, match="SecretSourceError") as info:
        protect(df, missing.distribute(spark), model=Customer, columns=["card_no"]).collect()
    assert "environment variable VK_SPARK_TEST_SECRET" in str(info.value)


def test_file_source_works_and_the_secret_is_nowhere_in_spark(
    spark: Any, spec: VaultSpec, spark_dirs: Path
) -> None:
    assert spec.secret.startswith("file:")
    rows = protect(frame(spark, 8), spec, model=Customer, columns=["name"]).collect()
    assert len(rows) == 8 and all(
        r.name is None or isinstance(r.name, bytes | bytearray) for r in rows
    )
    conf = dict(spark.sparkContext.getConf().getAll())
    assert not any(PASSPHRASE in v for v in conf.values())
    # the event log (what the UI's environment API and the history server show)
    logs = [
        p.read_text(encoding="utf-8", errors="replace")
        for p in (spark_dirs / "events").rglob("*")
        if p.is_file()
    ]
    assert logs and any("SparkListenerEnvironmentUpdate" in text for text in logs)
    assert not any(PASSPHRASE in text for text in logs)
    # the UI's environment REST API (what the Environment page shows): Spark's properties,
    # system properties and class path, none with the secret
    sc = spark.sparkContext
    api = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/environment"
    with urllib.request.urlopen(api, timeout=30) as response:
        environment = response.read().decode("utf-8")
    shown = json.loads(environment)
    assert ["spark.app.name", "vaultkit-tests"] in shown["sparkProperties"]  # (the API works)
    assert PASSPHRASE not in environment
    # the spec is what tasks carry: a path, never the secret
    assert PASSPHRASE.encode() not in pickle.dumps(spec)
    assert PASSPHRASE not in repr(spec)


@pytest.mark.parametrize(
    "variable", ["VAULTKIT_PASSPHRASE", "VAULTKIT_PKCS11_PIN", "MY_VAULT_PASSPHRASE"]
)
def test_distribute_refuses_a_secret_in_executor_env(
    spark: Any, spec: VaultSpec, variable: str
) -> None:
    s = VaultSpec(ring=spec.ring, ring_id=spec.ring_id, secret="env:MY_VAULT_PASSPHRASE")
    conf = spark.sparkContext._conf  # the running context's own SparkConf
    key = f"spark.executorEnv.{variable}"
    conf.set(key, "clear-text-value")
    try:
        with pytest.raises(SecretExposureError, match=key) as info:
            s.distribute(spark)
    finally:
        conf._jconf.remove(key)
    assert "clear-text-value" not in str(info.value)
    assert "secretKeyRef" in str(info.value)
    s.distribute(spark)  # (removed: accepted)


def test_spec_holds_no_secret_and_refuses_one() -> None:
    with pytest.raises(VaultkitTypeError, match="never the secret itself"):
        VaultSpec(ring="/r.vk", ring_id="0" * 32, secret="hunter2")
    with pytest.raises(VaultkitTypeError, match="ring_id"):
        VaultSpec(ring="/r.vk", ring_id="x", secret="env:P")
    s = VaultSpec(ring="/r.vk", ring_id="0" * 32, secret="env:P", ship=False)
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(Exception):  # frozen
        s.ring = "/other"  # type: ignore[misc]
