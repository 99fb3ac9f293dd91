"""What a protected column is bound to: a Vault, its table and column, and its context.

A column type learns its table and column only when :func:`configure` walks the metadata; until
then it refuses to encrypt or decrypt (no global Vault exists, see docs/sqlalchemy.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vaultkit.errors import KeyNotFoundError, VaultkitError

if TYPE_CHECKING:
    from vaultkit.vault import Vault

__all__ = [
    "MISSING",
    "ColumnBinding",
    "NotConfiguredError",
    "OpenedBatch",
    "column_context",
    "primary_version",
    "readable_versions",
    "row_context",
]


class NotConfiguredError(VaultkitError, RuntimeError):
    """A protected column was used before ``vaultkit.ext.sqlalchemy.configure`` bound it."""


def column_context(table: str, column: str) -> dict[str, str]:
    """The associated data of a value of ``table.column`` (also ``vaultkit reencrypt``'s)."""
    return {"table": table, "column": column}


def row_context(table: str, column: str, row: str) -> dict[str, str]:
    """The associated data of a row-bound value: the column's context plus the row key."""
    return {"table": table, "column": column, "row": row}


MISSING: Any = object()


class OpenedBatch:
    """The last batches of one column opened by the batch read path, by stored object identity.

    ``fill`` (the cursor wrapper, at each fetch) adds a batch and drops the one before the
    previous (SQLAlchemy may fetch the next batch before it has processed the last rows of the
    previous one); ``take`` (the column type's result processor, once per value) returns the
    opened value of that very stored object, or ``MISSING``. A value that is not found (another
    result of the same column fetched in between, another thread) is decrypted on its own, so
    the result is the same either way. Holds at most two batches per column.
    """

    __slots__ = ("_batches",)

    def __init__(self) -> None:
        self._batches: tuple[_Batch, ...] = ()

    def fill(self, stored: Sequence[Any], opened: Sequence[Any]) -> None:
        # the batch keeps the stored objects alive, so their ids stay theirs while it lives
        index = {id(s): i for i, s in enumerate(stored)}
        self._batches = (stored, opened, index), *self._batches[:1]

    def take(self, stored: Any) -> Any:
        key = id(stored)
        for objects, opened, index in self._batches:
            i = index.get(key)
            if i is not None and objects[i] is stored:
                return opened[i]
        return MISSING


_Batch = tuple[Sequence[Any], Sequence[Any], dict[int, int]]


class ColumnBinding:
    """One column's Vault, names and (precomputed, reused) context."""

    __slots__ = (
        "batch",
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
        self.batch = OpenedBatch()  # the batch read path's opened values (see _engine)

    def __repr__(self) -> str:
        return f"ColumnBinding({self.table}.{self.column}, key={self.key_name!r})"

    def __reduce__(self) -> Any:
        raise TypeError("a column binding holds a Vault and cannot be pickled")


def _provider(vault: Vault) -> Any:
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
