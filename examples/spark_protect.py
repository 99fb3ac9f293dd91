"""A Spark job that de-identifies a customer table: tokenizes card numbers, encrypts ID and mobile
numbers and computes the ID number's blind index, exactly as the ORM would store them, then
checks the result with a survey (docs/spark.md).

    spark-submit --files /etc/vaultkit/keyring.vk examples/spark_protect.py \
        --ring keyring.vk --ring-id 3f0c...e2 --secret file:/run/secrets/vaultkit/passphrase \
        --input hdfs:///raw/customers --output hdfs:///protected/customers

The secret is read by each executor from its source; this script (the driver) never sees it.
"""

from __future__ import annotations

import argparse
import sys

from pyspark.sql import SparkSession
from sqlalchemy import BigInteger, Column, MetaData, String, Table

from vaultkit.ext.spark import VaultSpec, protect, survey
from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, Tokenized

# The same declarations the bank's applications use (usually imported from their models).
CUSTOMERS = Table(
    "customers",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("name", String(80)),
    Column("card_no", Tokenized("customers.card", format="card")),
    Column("id_no", Encrypted("customers.id_no", kind="cn_id", searchable=True)),
    Column("id_no_bidx", BlindIndex("customers.id_no.bidx", source="id_no", rows=50_000_000)),
    Column("mobile", Encrypted("customers.mobile", kind="mobile", storage="text")),
)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ring", required=True, help="key ring file (shipped with --files)")
    parser.add_argument("--ring-id", required=True, help="the ring's id (vaultkit key list)")
    parser.add_argument("--secret", required=True, help="env:NAME, file:/path or keyfile:/path")
    parser.add_argument("--input", required=True, help="Parquet dataset of plaintext rows")
    parser.add_argument("--output", required=True, help="a new path for the protected rows")
    args = parser.parse_args(argv)

    spark = SparkSession.builder.appName("vaultkit-protect-customers").getOrCreate()
    # --files put the ring next to every executor: a shared path (ship=False) names it there
    spec = VaultSpec(
        ring=args.ring, ring_id=args.ring_id, secret=args.secret, ship=False
    ).distribute(spark)
    raw = spark.read.parquet(args.input)
    protected = protect(raw, spec, model=CUSTOMERS)
    protected.write.mode("errorifexists").parquet(args.output)

    written = spark.read.parquet(args.output)
    for s in survey(written, spec, model=CUSTOMERS, pk="id"):
        print(f"{s.column}: {s.rows} rows, {s.nulls} NULL, {s.current} current, {s.stale} stale")
        if s.stale or s.plaintext:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
