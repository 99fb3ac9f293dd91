"""What a protected column is bound to: a Vault, its table and column, and its context.

A column type learns its table and column only when :func:`configure` walks the metadata; until
then it refuses to encrypt or decrypt (no global Vault exists, see docs/sqlalchemy.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from vaultkit._nopickle import NoPickle
from vaultkit.columns import column_context
from vaultkit.errors import KeyNotFoundError, VaultkitError

if TYPE_CHECKING:
    from sqlalchemy import Column, ColumnDefault, ColumnElement, Table

    from vaultkit.keys import KeyProvider
    from vaultkit.vault import Vault

__all__ = [
    "ColumnBinding",
    "NotConfiguredError",
    "client_assigned_key",
    "key_defaults",
    "primary_version",
    "readable_versions",
]


class NotConfiguredError(VaultkitError, RuntimeError):
    """A protected column was used before ``vaultkit.ext.sqlalchemy.configure`` bound it."""


class ColumnBinding(NoPickle):
    """One column's Vault, names and (precomputed, reused) context."""

    __slots__ = (
        "column",
        "context",
        "index_context",
        "key_name",
        "search_column",
        "table",
        "vault",
        "where",
    )

    def __init__(self, vault: Vault, table: str, column: str, key_name: str) -> None:
        self.vault = vault
        self.table = table
        self.column = column
        self.key_name = key_name
        self.context = column_context(table, column)
        self.where = f"table {table}, column {column}"
        self.search_column: str | None = None  # Encrypted: key of its BlindIndex column
        self.index_context: dict[str, str] = self.context  # BlindIndex: what its MAC binds

    def __repr__(self) -> str:
        return f"ColumnBinding({self.table}.{self.column}, key={self.key_name!r})"


def _provider(vault: Vault) -> KeyProvider:
    return vault.keys


def primary_version(vault: Vault, key_name: str, where: str) -> int:
    """The version new tokens are made with."""
    try:
        return int(_provider(vault).primary_key(key_name).version)
    except KeyNotFoundError:
        raise KeyNotFoundError(f"no key {key_name!r} for {where}") from None


def readable_versions(vault: Vault, key_name: str, where: str) -> list[int]:
    """Versions a search must try (primary first): old rows still match during a rotation."""
    try:
        return list(_provider(vault).readable_versions(key_name))
    except KeyNotFoundError:
        raise KeyNotFoundError(f"no key {key_name!r} for {where}") from None


def _python_default(column: ColumnElement[object]) -> Callable[[], object] | None:
    """How the client computes ``column``'s value when the application left it unset: its
    Python-side scalar default, or a callable default taking no argument (``default=uuid4``);
    None when it has neither (or a default that needs the statement's execution context)."""
    default = cast("Column[object]", column).default  # a Table column (the primary key)
    if default is None or getattr(default, "is_sequence", False):
        return None
    d = cast("ColumnDefault", default)  # not a Sequence: a scalar, callable or SQL default
    if d.is_scalar:
        value = d.arg
        return lambda: value
    if d.is_callable:
        # SQLAlchemy wraps a callable without arguments as ``lambda ctx: fn()`` with
        # ``__wrapped__ = fn``; one taking the context is kept as is (it needs the statement)
        fn = getattr(d.arg, "__wrapped__", None)
        return fn if callable(fn) else None
    return None  # a SQL expression: computed by the database


def client_assigned_key(table: Table) -> bool:
    """True when every primary-key column of ``table`` gets its value from the client before
    the INSERT: assigned by the application, or by a Python-side default vaultkit can compute
    first (``key_defaults``). False when the database assigns it (autoincrement, IDENTITY,
    a sequence, a server default) or the table has no primary key: a value cannot be bound to
    a key that exists only after the INSERT (docs/sqlalchemy.md, "Context binding")."""
    pk = list(table.primary_key.columns)
    if not pk:
        return False
    for c in pk:
        if c is table.autoincrement_column or c.server_default is not None:
            return False
        if getattr(c, "identity", None) is not None:
            return False
        if c.default is not None and _python_default(c) is None:
            return False
    return True


def key_defaults(
    columns: Iterable[ColumnElement[object]],
) -> tuple[Callable[[], object] | None, ...]:
    """Per row-key column, the Python-side default computed before sealing when the
    application left the key unset (None: none; the key must then be assigned)."""
    return tuple(_python_default(c) for c in columns)
