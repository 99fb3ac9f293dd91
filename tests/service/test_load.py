"""A bounded load (32 concurrent clients, 3 s here; 20 s in benchmarks/bench_service.py) against
a real server: no error, every answer correct, one audit record per request."""

from __future__ import annotations

from pathlib import Path

from tests.service._load import expected, run_load
from tests.service.conftest import Principals, Server, open_ring
from vaultkit.vault import Vault


def test_32_clients_mixed_single_and_batch(
    server: Server, principals: Principals, ring_path: Path
) -> None:
    ring = open_ring(ring_path)
    with Vault(ring, principal="app") as vault:
        want = expected(vault)
    ring.close()
    before = len(server.records())
    result = run_load(server.url, principals.tokens["app"], want, clients=32, seconds=3.0)
    assert result.errors == [] and result.wrong == 0
    assert result.requests > 32
    assert len(server.records()) - before == result.requests  # none lost, none extra
