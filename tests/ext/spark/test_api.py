"""The public API of vaultkit.ext.spark (frozen: change it deliberately)."""

from __future__ import annotations

import vaultkit.ext.spark as spark_ext


def test_all_is_frozen() -> None:
    assert sorted(spark_ext.__all__) == [
        "SecretExposureError",
        "SecretSourceError",
        "VaultSpec",
        "jdbc_reencrypt",
        "protect",
        "protect_udf",
        "reencrypt",
        "reveal",
        "reveal_udf",
        "survey",
    ]
    for name in spark_ext.__all__:
        assert hasattr(spark_ext, name)
