"""Where values under one key version still are (what ``key retire`` / ``key destroy`` check).

Three kinds of column can hold values under a key version, and each is counted its own way:

* **encrypted** columns: every string and binary column of every table of every schema the
  connection can see is read and classified from its envelope header (the header names key
  and version; no catalogue needed);
* **token** columns (``"<version>:<token>"``): the stored form carries the version but not the
  key, so the catalogue (``vaultkit.catalog``) says which columns hold tokens of the key;
* **blind-index** columns: an index names neither key nor version. The catalogue gives the
  index's key, length and source column; the source is decrypted and the index recomputed
  under every readable version of the key (primary first). A row is counted under version
  ``v`` when ``v`` is readable and the stored index equals the index under ``v`` (exact); when
  ``v`` is no longer readable (retired, destroyed), every row whose index equals the index
  under no readable version is counted (conservative: it may also be under another retired
  version, or corrupt; either way it is not searchable).

What could not be checked (no catalogue; a catalogued column that is missing or whose source
the CLI cannot recompute) is returned as notes, never silently counted as zero.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vaultkit.catalog import ProtectedColumn, Protection, load
from vaultkit.columns import Classifier, split_table_name, table_name, token_version
from vaultkit.reencrypt._report import BlindIndexTarget

if TYPE_CHECKING:
    from vaultkit import Vault

__all__ = ["VersionCount", "count_under_version", "count_version_everywhere", "visible_tables"]

_SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast"}


@dataclass
class VersionCount:
    """Places (``table.column``) holding values under the version, and what was not checked."""

    places: list[tuple[str, int]] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.places)


def visible_tables(engine: Engine, *, only: str | None = None) -> list[sa.Table]:
    """Every table of every schema the connection can see (the default schema's unqualified),
    reflected; or only the table named ``only`` (``schema.table`` or ``table``)."""
    insp = sa.inspect(engine)
    if only is not None:
        schema, name = split_table_name(only)
        return [sa.Table(name, sa.MetaData(), schema=schema, autoload_with=engine)]
    default = insp.default_schema_name
    schemas: list[str | None] = [None]
    schemas += [
        s
        for s in insp.get_schema_names()
        if s != default and s not in _SYSTEM_SCHEMAS and not s.startswith("pg_")
    ]
    tables: list[sa.Table] = []
    for schema in schemas:
        md = sa.MetaData()
        md.reflect(engine, schema=schema)
        tables += md.sorted_tables
    return tables


def count_under_version(engine: Engine, key_id: int, version: int) -> list[tuple[str, int]]:
    """Every ``table.column`` holding ciphertexts under (``key_id``, ``version``), with counts.

    Exhaustive (every row of every table of every visible schema is read, headers only).
    """
    return _scan(engine, key_id, version)[0]


def _scan(engine: Engine, key_id: int, version: int) -> tuple[list[tuple[str, int]], list[str]]:
    """The ciphertext counts, and the string columns whose every value is a stored token (what
    a token column looks like: a catalogue that misses one is said to)."""
    classifier = Classifier()
    found: list[tuple[str, int]] = []
    token_like: list[str] = []
    with engine.connect() as conn:
        for table in visible_tables(engine):
            columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.LargeBinary)]
            if not columns:
                continue
            counts = Counter[str]()
            tokens = Counter[str]()
            present = Counter[str]()
            for row in conn.execution_options(yield_per=5000).execute(sa.select(*columns)):
                for c, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    present[c.name] += 1
                    s = classifier(value)
                    if s.is_ciphertext:
                        if s.key_id == key_id and s.version == version:
                            counts[c.name] += 1
                    elif isinstance(value, str) and token_version(value) is not None:
                        tokens[c.name] += 1
            name = table_name(table.name, table.schema)
            found += [(f"{name}.{c.name}", counts[c.name]) for c in columns if counts[c.name]]
            token_like += [
                f"{name}.{c.name}"
                for c in columns
                if tokens[c.name] and tokens[c.name] == present[c.name]
            ]
    return found, token_like


def count_version_everywhere(
    engine: Engine, vault: Vault, key_name: str, key_id: int, version: int
) -> VersionCount:
    """Encrypted, token and blind-index columns under ``key_name`` ``version`` (module docs)."""
    places, token_like = _scan(engine, key_id, version)
    out = VersionCount(places=places)
    catalogue = load(engine)
    if catalogue is None:
        out.unchecked.append(
            "token and blind-index columns: the database has no vaultkit_columns catalogue "
            "(written by `vaultkit reencrypt` and by configure(..., engine=...))"
        )
        return out
    by_place = {(c.table, c.column): c for c in catalogue}
    out.unchecked += [
        f"{where}: holds values shaped like stored tokens but is not in the catalogue (which "
        "key is unknown: record it with `vaultkit reencrypt --format` or configure(engine=))"
        for where in token_like
        if tuple(where.rsplit(".", 1)) not in by_place
    ]
    for c in catalogue:
        if c.key_name != key_name:
            continue
        try:
            if c.protection is Protection.TOKEN:
                n = _count_tokens(engine, c, version)
            elif c.protection is Protection.BLIND_INDEX:
                n = _count_index(engine, vault, c, by_place, version)
            else:
                continue  # counted from headers above
        except _Unchecked as exc:
            out.unchecked.append(f"{c.where}: {exc}")
            continue
        except sa.exc.NoSuchTableError:
            out.unchecked.append(f"{c.where}: catalogued, but the table does not exist")
            continue
        if n:
            out.places.append((c.where, n))
    return out


class _Unchecked(Exception):
    """A catalogued column this process cannot count (the reason, no value)."""


def _table(engine: Engine, name: str, column: str) -> sa.Table:
    schema, bare = split_table_name(name)
    t = sa.Table(bare, sa.MetaData(), schema=schema, autoload_with=engine)
    if column not in t.c:
        raise _Unchecked("catalogued, but the column does not exist")
    return t


def _count_tokens(engine: Engine, c: ProtectedColumn, version: int) -> int:
    t = _table(engine, c.table, c.column)
    n = 0
    with engine.connect() as conn:
        for (value,) in conn.execution_options(yield_per=5000).execute(sa.select(t.c[c.column])):
            n += token_version(value) == version
    return n


def _count_index(
    engine: Engine,
    vault: Vault,
    c: ProtectedColumn,
    by_place: dict[tuple[str, str], ProtectedColumn],
    version: int,
) -> int:
    from vaultkit.reencrypt._engine import Reencryptor

    if len(c.source) != 1 or c.transformed or c.bits is None:
        raise _Unchecked(
            "a compound or transformed blind index; its sources pass through application "
            "code the CLI cannot run"
        )
    _table(engine, c.table, c.column)
    (source,) = c.source
    src = by_place.get((c.table, source))
    job = Reencryptor(
        engine,
        vault,
        table=c.table,
        columns=[],
        blind_index={source: BlindIndexTarget(c.column, c.key_name, c.bits)},
        bind_row=False if src is None or src.row_key is None else (src.row_key or True),
        key_name=src.key_name if src and src.protection is Protection.TOKEN else None,
        token_format=src.detail if src and src.protection is Protection.TOKEN else None,
    )
    (survey,) = job.survey()
    if version in vault.keys.readable_versions(c.key_name):
        return int(survey.by_version.get((c.key_name, version), 0))
    return survey.unmatched
