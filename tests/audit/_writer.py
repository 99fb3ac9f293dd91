"""A worker process: 2 threads decrypting through a trail for a few seconds; prints its calls."""

from __future__ import annotations

import sys
import threading
import time

from tests.audit.conftest import kms
from vaultkit import Vault
from vaultkit.audit import Trail
from vaultkit.keys import KeyRing


def main(ring_path: str, target: str, ct_hex: str, seconds: float) -> None:
    ring = KeyRing.open(ring_path, kms())
    trail = Trail.open(target, ring, principal=f"worker-{sys.argv[-1]}")
    ct = bytes.fromhex(ct_hex)
    counts = [0, 0]
    deadline = time.monotonic() + seconds

    def run(i: int) -> None:
        with Vault(ring, audit=trail) as v:
            while time.monotonic() < deadline:
                v.decrypt(ct, context={"t": "c"})
                counts[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trail.close()
    print(sum(counts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))
