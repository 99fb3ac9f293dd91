"""Audit trail (issue 13): the cost of a durable, sealed record per Vault call, in the same run.

* single call: ``Vault.decrypt`` with a file trail (one record, written and fsynced before the
  plaintext is returned) vs the durable floor: the same decrypt without a trail plus one
  ``os.write`` + ``os.fsync`` of a line as long as a record, on the same disk (goal: the trail
  adds at most 25 % to that floor). The fsync dominates and its cost is the disk's (0.1 ms to
  several ms), so a ratio to the decrypt alone says nothing about vaultkit: see docs/audit.md;
* batch: ``decrypt_many`` of 100,000 fields with a file trail (one record per batch) vs without
  (goal: at most 1.05x);
* throughput: records appended per second by 8 concurrent writer threads (group commit: one
  fsync per batch of waiting writers).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from vaultkit import Vault
from vaultkit.audit import Trail
from vaultkit.keys import KeyRing, LocalKMS

BATCH = 100_000
SINGLE = 2_000
SINGLE_DURABLE = 200  # calls that fsync (milliseconds each on a plain disk)
CONCURRENT = 8
PER_WRITER = 500
COLUMN = {"table": "customers", "column": "id_no"}
PLAIN_SINGLE = "Vault.decrypt without a trail"
DURABLE_FLOOR = "Vault.decrypt + os.write + os.fsync of one record-sized line (the durable floor)"
PLAIN_BATCH = "Vault.decrypt_many without a trail"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = Path(tmp_path_factory.mktemp("bench-audit"))
    ring = KeyRing.create(root / "ring.json", LocalKMS(passphrase="bench", scrypt_n=2**10))
    ring.create_key("sm4")
    trail = Trail.open(root / "audit.jsonl", ring, principal="bench")
    with Vault(ring) as plain, Vault(ring, audit=trail) as audited:
        yield plain, audited, trail, root / "audit.jsonl"
    trail.close()
    ring.close()


@pytest.mark.benchmark(group="Audit: single Vault.decrypt per call, file trail")
@pytest.mark.parametrize("row", ["plain", "floor", "audited"])
def test_decrypt_single(bench: Any, setup: Any, row: str, tmp_path: Path) -> None:
    plain, audited, _, trail_file = setup
    n = bench.scaled(SINGLE if row == "plain" else SINGLE_DURABLE, minimum=5)
    ct = plain.encrypt("sm4", os.urandom(32), context=COLUMN)
    vault = plain if row == "plain" else audited

    def run() -> None:
        for _ in range(n):
            vault.decrypt(ct, context=COLUMN)

    if row == "plain":
        bench.run(run, role="peer", label=PLAIN_SINGLE, items=n)
    elif row == "floor":
        audited.decrypt(ct, context=COLUMN)  # one real record: the floor writes as many bytes
        line = trail_file.read_bytes().splitlines(keepends=True)[-1]
        fd = os.open(tmp_path / "floor.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:

            def floor() -> None:
                for _ in range(n):
                    plain.decrypt(ct, context=COLUMN)
                    os.write(fd, line)
                    os.fsync(fd)

            bench.run(floor, role="peer", label=DURABLE_FLOOR, items=n)
        finally:
            os.close(fd)
    else:
        bench.run(
            run,
            role="vaultkit",
            label="Vault.decrypt with a file trail (fsync per call)",
            items=n,
            targets={DURABLE_FLOOR: 1 / 1.25},
        )


@pytest.mark.benchmark(group="Audit: decrypt_many of 100,000 fields, file trail")
@pytest.mark.parametrize("row", ["plain", "audited"])
def test_decrypt_many(bench: Any, setup: Any, row: str) -> None:
    plain, audited, _, _ = setup
    n = bench.scaled(BATCH)
    datas = [os.urandom(32) for _ in range(n)]
    cts = plain.encrypt_many("sm4", datas, context=COLUMN)
    if row == "plain":
        out = bench.run(
            lambda: plain.decrypt_many(cts, context=COLUMN),
            role="peer",
            label=PLAIN_BATCH,
            items=n,
        )
    else:
        out = bench.run(
            lambda: audited.decrypt_many(cts, context=COLUMN),
            role="vaultkit",
            label="Vault.decrypt_many with a file trail",
            items=n,
            targets={PLAIN_BATCH: 1 / 1.05},
        )
    assert out == datas


@pytest.mark.benchmark(group="Audit: records appended by 8 concurrent writers")
def test_concurrent_writers(bench: Any, setup: Any) -> None:
    _, _, trail, _ = setup
    per = bench.scaled(PER_WRITER, minimum=5)

    def writer() -> None:
        for _ in range(per):
            trail.record_key_operation("decrypt", "sm4", 1, principal="bench")

    def run() -> None:
        threads = [threading.Thread(target=writer) for _ in range(CONCURRENT)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    bench.run(run, role="vaultkit", label="records appended, 8 threads", items=CONCURRENT * per)
