"""Retired key versions, for searches: what a retired version indexed or tokenized can still be
computed (its material exists), so a search refuses rather than silently misses the rows it made
(``BlindIndex.retired_candidates``, ``Tokenized.retired_candidates``, ``_search``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vaultkit.errors import KeyNotFoundError
from vaultkit.keys import KeyState

if TYPE_CHECKING:
    from vaultkit.ext.sqlalchemy._binding import ColumnBinding
    from vaultkit.keys import DataKey, KeyProvider

__all__ = ["RetiredToo", "retired_versions"]

RETIRED = KeyState.RETIRED


def retired_versions(b: ColumnBinding, key_name: str) -> list[int]:
    """The *retired* versions of ``key_name``: a search computes the query's stored forms under
    them too (``retired_candidates``), to refuse rather than miss the rows they made. Empty when
    the key provider cannot list states (then there is nothing to compute either)."""
    info = getattr(b.vault.keys, "key_info", None)
    if not callable(info):
        return []
    try:
        return [v.version for v in info(key_name).versions if v.state is RETIRED]
    except KeyNotFoundError:
        raise KeyNotFoundError(f"no key {key_name!r} for {b.where}") from None


class RetiredToo:
    """A key provider that also hands out retired versions (for the ``retired_candidates`` of
    :class:`BlindIndex` and :class:`Tokenized` only: computing what a retired version indexed
    or tokenized, never to write)."""

    __slots__ = ("_keys",)

    def __init__(self, keys: KeyProvider) -> None:
        self._keys = keys

    def primary_key(self, name: str) -> DataKey:
        return self._keys.primary_key(name)

    def key_version(self, name: str, version: int, *, force: bool = False) -> DataKey:
        return self._keys.key_version(name, version, force=True)

    def key_by_id(self, key_id: int, version: int, *, force: bool = False) -> DataKey:
        return self._keys.key_by_id(key_id, version, force=True)

    def readable_versions(self, name: str) -> list[int]:
        return list(self._keys.readable_versions(name))
