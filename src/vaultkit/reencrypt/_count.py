"""Where ciphertexts under one key version still are (what ``key retire`` checks first)."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vaultkit.columns import Classifier

__all__ = ["count_under_version"]


def count_under_version(engine: Engine, key_id: int, version: int) -> list[tuple[str, int]]:
    """Every ``table.column`` holding ciphertexts under (``key_id``, ``version``), with counts.

    Exhaustive (every row of every table is read, headers only): what ``key retire`` checks
    before retiring a version.
    """
    metadata = sa.MetaData()
    metadata.reflect(engine)
    classifier = Classifier()
    found: list[tuple[str, int]] = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.LargeBinary)]
            if not columns:
                continue
            counts = Counter[str]()
            for row in conn.execution_options(yield_per=5000).execute(sa.select(*columns)):
                for c, value in zip(columns, row, strict=True):
                    s = classifier(value)
                    if s.is_ciphertext and s.key_id == key_id and s.version == version:
                        counts[c.name] += 1
            found += [(f"{table.name}.{c.name}", counts[c.name]) for c in columns if counts[c.name]]
    return found
