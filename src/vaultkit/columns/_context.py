"""The column context: the associated data every protected column value is bound to.

A value of ``table.column`` is authenticated under ``{"table": table, "column": column}``; a
row-bound value also under ``"row"`` (the row key, :func:`row_key`). The mapping is not stored,
so every door (ORM, ``vaultkit reencrypt``, the CLI filters, ``Vault`` callers) must build it
here, byte for byte the same, or rows one door writes do not decrypt through another
(docs/architecture.md, "Formats and their owners").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

__all__ = ["column_context", "row_key", "split_table_name", "table_name"]


def column_context(table: str, column: str, row: object | None = None) -> dict[str, str]:
    """The associated data of a value of ``table.column`` (and of row ``row`` when bound).

    ``table`` is the name as the door knows it (unqualified for tables in the default schema:
    that is what existing data was written under). ``row`` is the row key's text
    (:func:`row_key`), or any object whose ``str`` is (a single-column primary key).
    """
    ctx = {"table": table, "column": column}
    if row is not None:
        ctx["row"] = str(row)
    return ctx


def table_name(name: str, schema: str | None = None) -> str:
    """The ``table`` entry of a column context: ``name`` for a table in the connection's
    default schema (what existing data was written under), ``schema.name`` otherwise.

    The ORM (``Table.name`` / ``Table.schema``), ``vaultkit reencrypt --table core.kyc``,
    ``vaultkit verify`` and the catalogue all name a table with this, so a row one door wrote
    decrypts through the others (docs/architecture.md).
    """
    return name if not schema else f"{schema}.{name}"


def split_table_name(qualified: str) -> tuple[str | None, str]:
    """``(schema, name)`` of a name given as ``name`` or ``schema.name`` (the inverse of
    :func:`table_name`; a table whose own name contains a dot must be given with its schema)."""
    schema, dot, name = qualified.partition(".")
    return (schema, name) if dot else (None, qualified)


def row_key(values: Sequence[object]) -> str:
    """The ``row`` entry of a row-bound context: one key value as its ``str``; several as a
    JSON list of their ``str`` (injective)."""
    if len(values) == 1:
        return str(values[0])
    return json.dumps([str(v) for v in values], ensure_ascii=False)


def row_key_shown(values: Sequence[object]) -> str:
    """The row key as an error message names it: integer and UUID key values as they are (they
    say nothing about a person); any other value, such as a natural key that is an account or
    ID number (personal financial information, JR/T 0171-2020), masked to its last 4 characters,
    fully when it is shorter than 8. Messages reach logs, which the key value must not."""
    return row_key([_shown(v) for v in values])


def _shown(value: object) -> object:
    if isinstance(value, int | uuid.UUID) and not isinstance(value, bool):
        return value
    text = value.hex() if isinstance(value, bytes) else str(value)
    return "*" * len(text) if len(text) < 8 else "*" * (len(text) - 4) + text[-4:]
