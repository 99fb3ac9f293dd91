"""What the scan reads: the schemas a connection can see and their tables, and why a table
could not be read.

Every schema the connection lists is read except the database's own catalogs (PostgreSQL
``pg_catalog``, ``information_schema``, ``pg_toast`` and the per-session ``pg_temp_*``; MySQL
``mysql``, ``performance_schema``, ``sys``); on SQLite the schemas are ``main`` and every
attached database. Tables of the default schema keep their bare name in the report, the others
are named ``schema.table``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["Target", "Unreadable", "reason", "targets"]

_SYSTEM = frozenset(
    {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys"}
)
_SYSTEM_PREFIXES = ("pg_temp_", "pg_toast_temp_")
# SQLSTATE 42501 insufficient_privilege (PostgreSQL; SQL standard class 42: access rule violation)
_DENIED_STATES = frozenset({"42501"})


@dataclass(frozen=True)
class Target:
    """A table to read: ``schema`` as listed, ``name`` in it, ``shown`` in the report; ``qualify``
    is the schema to put in SQL (None for the default schema)."""

    schema: str
    name: str
    shown: str
    qualify: str | None


@dataclass(frozen=True)
class Unreadable:
    """A schema or table the scan could not read: a finding of its own (the scan is then not a
    PASS). ``table`` is None for a whole schema."""

    schema: str | None
    table: str | None
    reason: str

    def as_dict(self) -> dict[str, str | None]:
        return {"schema": self.schema, "table": self.table, "reason": self.reason}


def _system(schema: str) -> bool:
    return schema in _SYSTEM or schema.startswith(_SYSTEM_PREFIXES)


def reason(exc: sa.exc.DBAPIError) -> str:
    """Why a read failed, without the driver's message (it may quote SQL or values)."""
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in _DENIED_STATES or "permission denied" in str(orig).lower():
        return "permission denied"
    return f"could not be read ({type(orig).__name__})"


def targets(
    conn: Connection, schemas: Sequence[str] | None, tables: Sequence[str] | None
) -> tuple[list[str], list[Target], list[Unreadable]]:
    """The schemas to read (``schemas``, or every visible one, the default first), their tables
    (only ``tables`` when given: ``name`` in any schema read or ``schema.name``), and the
    schemas or tables asked for that do not exist or cannot be listed."""
    inspector = sa.inspect(conn)
    default = inspector.default_schema_name or ""
    visible = [s for s in inspector.get_schema_names() if not _system(s)]
    missing: list[Unreadable] = []
    if schemas:
        read = list(dict.fromkeys(schemas))
        missing += [Unreadable(s, None, "schema not found") for s in read if s not in visible]
        read = [s for s in read if s in visible]
    else:
        read = sorted(visible, key=lambda s: (s != default, visible.index(s)))
    found: list[Target] = []
    for schema in read:
        try:
            names = sorted(inspector.get_table_names(schema=schema))
        except sa.exc.DBAPIError as exc:
            conn.rollback()
            missing.append(Unreadable(schema, None, reason(exc)))
            continue
        for name in names:
            shown = name if schema == default else f"{schema}.{name}"
            found.append(Target(schema, name, shown, None if schema == default else schema))
    if tables:
        wanted = set(tables)
        found = [t for t in found if t.name in wanted or t.shown in wanted]
        named = {t.name for t in found} | {t.shown for t in found}
        missing += [Unreadable(None, t, "table not found") for t in tables if t not in named]
    return read, found, missing
