"""examples/spark_protect.py runs as written on the test session (its own ring and keys)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from tests.ext.spark._data import frame, rows
from tests.ext.spark.conftest import PASSPHRASE, ROOT
from vaultkit.ext.spark import VaultSpec, reveal
from vaultkit.keys import KeyRing, LocalKMS


def test_example_job(spark: Any, spark_dirs: Path, tmp_path: Path) -> None:
    spec_ = importlib.util.spec_from_file_location(
        "spark_protect", ROOT / "examples" / "spark_protect.py"
    )
    assert spec_ is not None and spec_.loader is not None
    example = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(example)
    ring = KeyRing.create(tmp_path / "example.vk", LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**10))
    for name, algorithm in {
        "customers.card": "FF1-SM4",
        "customers.id_no": "SM4-GCM",
        "customers.id_no.bidx": "HMAC-SM3",
        "customers.mobile": "SM4-GCM",
    }.items():
        ring.create_key(name, algorithm=algorithm)
    raw, out = str(tmp_path / "raw"), str(tmp_path / "protected")
    frame(spark, 50, partitions=2).select("id", "name", "card_no", "id_no", "mobile").write.parquet(
        raw
    )
    argv = ["--ring", str(ring.path), "--ring-id", ring.ring_id, "--input", raw, "--output", out]
    assert example.main([*argv, "--secret", f"file:{spark_dirs / 'passphrase'}"]) == 0
    spec = VaultSpec(
        ring=str(ring.path),
        ring_id=ring.ring_id,
        secret=f"file:{spark_dirs / 'passphrase'}",
        ship=False,
    )
    back = {
        r.id: r for r in reveal(spark.read.parquet(out), spec, model=example.CUSTOMERS).collect()
    }
    for e in rows(50):
        assert (back[e["id"]].card_no, back[e["id"]].id_no, back[e["id"]].mobile) == (
            e["card_no"],
            e["id_no"],
            e["mobile"],
        )
    ring.close()
