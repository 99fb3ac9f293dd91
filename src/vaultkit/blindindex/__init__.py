"""Blind indexes: equality search over encrypted columns (HMAC-SM3 or HMAC-SHA256, truncated).

See ``docs/blindindex.md``::

    idx = BlindIndexer(key_ring)
    plan(rows=1_000_000)                       # IndexPlan(min_bits=10, max_bits=19, bits=..)
    idx.compute("customers.card_idx", card, kind="card_no", bits=16,
                context={"table": "customers", "column": "card_no"})
    idx.compute("customers.c4y", ("1234", "1949"), kind=Compound(("card_last4", "birth_year")),
                bits=8, context={"table": "customers", "column": "card_last4_birth_year"})
"""

from vaultkit.blindindex._indexer import MAX_BITS, BlindIndexer
from vaultkit.blindindex._normalize import KINDS, PARTS, Compound
from vaultkit.blindindex._planner import IndexPlan, plan, recommend

__all__ = [
    "KINDS",
    "MAX_BITS",
    "PARTS",
    "BlindIndexer",
    "Compound",
    "IndexPlan",
    "plan",
    "recommend",
]
