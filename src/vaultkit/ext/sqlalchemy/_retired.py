"""Retired key versions, for searches: what a retired version indexed or tokenized can still be
computed (its material exists), so a search refuses rather than silently misses the rows it made
(``BlindIndex.retired_candidates``, ``Tokenized.retired_candidates``, ``_search``).

The stored forms are the Vault's to compute (``retired_index_candidates``,
``retired_token_candidates``): an in-process Vault and a ``RemoteVault`` (the key service
computes them) take the same path and answer with the same bytes; the ORM never holds key
material. This module only says whether there is anything to compute, from the key metadata
(which a RemoteVault caches), so a column without retired versions costs no call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vaultkit.errors import KeyNotFoundError
from vaultkit.keys import KeyState

if TYPE_CHECKING:
    from vaultkit.ext.sqlalchemy._binding import ColumnBinding

__all__ = ["retired_versions"]


def retired_versions(b: ColumnBinding, key_name: str) -> list[int]:
    """The *retired* versions of ``key_name`` (key metadata only): a search computes the
    query's stored forms under them too (``retired_candidates``), to refuse rather than miss
    the rows they made. Empty when the key provider cannot list states (then there is nothing
    to compute either)."""
    info = getattr(b.vault.keys, "key_info", None)
    if not callable(info):
        return []
    try:
        return [v.version for v in info(key_name).versions if v.state is KeyState.RETIRED]
    except KeyNotFoundError:
        raise KeyNotFoundError(f"no key {key_name!r} for {b.where}") from None
