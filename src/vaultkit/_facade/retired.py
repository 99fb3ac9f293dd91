"""Search candidates under a key's *retired* versions: what a retired version indexed or
tokenized can still be computed (its material exists until destroyed), so a search refuses the
rows it would silently miss rather than missing them (``Vault.retired_index_candidates``,
``Vault.retired_token_candidates``; the ORM's ``_search`` probes for them).

Computed here, behind the Vault's grant check and audit, so an in-process Vault and the key
service (for a ``RemoteVault``) answer with the same bytes. A retired version is never handed
out to write: :class:`RetiredToo` lends one only to these computations, and ``tokenize`` /
``blind_index`` with ``version=`` a retired version still raise ``KeyStateError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from vaultkit.keys import KeyState

if TYPE_CHECKING:
    from vaultkit.blindindex import Compound
    from vaultkit.envelope._internal import Context
    from vaultkit.keys import DataKey, KeyProvider
    from vaultkit.tokens import TokenFormat

__all__ = ["RetiredToo", "retired_indexes", "retired_tokens", "retired_versions"]


def retired_versions(keys: KeyProvider, key_name: str) -> list[int]:
    """The retired versions of ``key_name``, oldest first; empty when the provider cannot list
    states (then there is nothing to compute either). ``KeyNotFoundError`` for no such key."""
    info = getattr(keys, "key_info", None)
    if not callable(info):
        return []
    return [v.version for v in info(key_name).versions if v.state is KeyState.RETIRED]


class RetiredToo:
    """A key provider that also hands out retired versions, for the computations of this
    module only (never to write: the Vault's own provider keeps refusing them)."""

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


def retired_indexes(
    keys: KeyProvider,
    versions: Sequence[int],
    key_name: str,
    value: object,
    *,
    context: Context,
    bits: int,
    kind: str | Compound | None,
) -> list[tuple[int, bytes]]:
    """``(version, index)`` of ``value`` under each of ``versions`` (retired ones)."""
    from vaultkit.blindindex import BlindIndexer  # on first use, as the Vault's own

    indexer = BlindIndexer(RetiredToo(keys))
    return [
        (v, indexer.compute(key_name, value, context=context, bits=bits, version=v, kind=kind))
        for v in versions
    ]


def retired_tokens(
    keys: KeyProvider,
    versions: Sequence[int],
    key_name: str,
    values: Sequence[str],
    *,
    format: str | TokenFormat,
    context: Context,
) -> list[tuple[int, str]]:
    """``(version, token)`` of each of ``values`` under each of ``versions`` (retired ones),
    version by version."""
    from vaultkit.tokens import Tokenizer  # on first use, as the Vault's own

    tokenizer = Tokenizer(RetiredToo(keys))
    out: list[tuple[int, str]] = []
    for v in versions:
        tokens = tokenizer.tokenize_many(
            key_name, list(values), format=format, context=context, version=v
        )
        out.extend((v, t) for t in tokens)
    return out
