"""What a protected column is bound to: a Vault, its table and column, and its context.

A column type learns its table and column only when :func:`configure` walks the metadata; until
then it refuses to encrypt or decrypt (no global Vault exists, see docs/sqlalchemy.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vaultkit._nopickle import NoPickle
from vaultkit.columns import column_context
from vaultkit.errors import KeyNotFoundError, VaultkitError

if TYPE_CHECKING:
    from vaultkit.keys import KeyProvider
    from vaultkit.vault import Vault

__all__ = ["ColumnBinding", "NotConfiguredError", "primary_version", "readable_versions"]


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
