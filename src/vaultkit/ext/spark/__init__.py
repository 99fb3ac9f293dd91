"""Apache Spark integration: protect, reveal and re-encrypt DataFrames with the ORM's columns
(docs/spark.md). Needs the ``vaultkit[spark]`` extra.

::

    spec = VaultSpec(ring="/jobs/keyring.vk", ring_id=RING_ID,
                     secret="file:/run/secrets/vaultkit-passphrase").distribute(spark)
    stored = protect(df, spec, model=Customer)          # what the ORM would have stored
    plain = reveal(stored, spec, model=Customer, masked=["card_no"])
"""

from vaultkit.ext.spark._frames import protect, reveal
from vaultkit.ext.spark._jdbc import jdbc_reencrypt
from vaultkit.ext.spark._reencrypt import reencrypt, survey
from vaultkit.ext.spark._spec import SecretExposureError, SecretSourceError, VaultSpec
from vaultkit.ext.spark._udf import protect_udf, reveal_udf

__all__ = [
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
