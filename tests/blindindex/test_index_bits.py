"""``index_bits``: the planner call the ORM's BlindIndex(rows=...) and reencrypt share."""

from __future__ import annotations

import pytest

from vaultkit.blindindex import plan
from vaultkit.blindindex._planner import index_bits
from vaultkit.errors import PolicyError


def test_plans_checks_and_accepts_explicitly() -> None:
    assert index_bits(rows=10_000) == plan(rows=10_000).bits
    assert index_bits(10, rows=10_000) == 10
    with pytest.raises(PolicyError, match=r"customers\.id_no_bidx: a 32-bit blind index"):
        index_bits(32, rows=10_000, where="customers.id_no_bidx")
    with pytest.raises(PolicyError, match="16-bit"):
        index_bits(16, rows=10_000)
    assert index_bits(32, rows=10_000, accept_identifying=True) == 32
    with pytest.raises(PolicyError, match="no blind index length is safe"):
        index_bits(rows=0)  # an empty table: nothing is safe, give bits and accept
    assert index_bits(16, rows=0, accept_identifying=True) == 16
