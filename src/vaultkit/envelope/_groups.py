"""Batch grouping: the items of a batch of binary ciphertexts by header, and the headers by key
version, so that opening makes one key lookup per key version and one batch GCM call per header.

A header (bytes 0..58, ``docs/envelope.md``) names one writer's subkey: items that share it share
the commitment (checked once) and the subkey. The usual batch has one header (one writer, one
key version); ``FieldCipher.open_many`` and ``Vault.decrypt_many`` both open through these
groups, so the grouping and the item numbering of errors have one owner.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from typing import NamedTuple

from vaultkit.envelope._format import FIXED_LEN, HEADER_LEN, MIN_LEN, key_ids
from vaultkit.errors import DecryptionError

__all__ = ["HeaderGroup", "VersionGroup", "header_groups", "item_index", "version_groups"]


class HeaderGroup(NamedTuple):
    """Items of a batch that begin with ``header``: their positions in the batch, in order, or
    None when they are the whole batch (the common case: no per-item selection)."""

    header: bytes
    positions: list[int] | None

    def where(self, i: int) -> str:
        """The ``DecryptionError.where`` of the group's item ``i``: its position in the batch."""
        return f"item {i if self.positions is None else self.positions[i]}"

    def place(self, out: list[bytes], results: list[bytes]) -> list[bytes]:
        """The batch's results with the group's (one per item, in order) at the items'
        positions: ``out`` (a list as long as the batch) filled in, or ``results`` themselves
        when the group is the whole batch."""
        if self.positions is None:
            return results
        for i, r in zip(self.positions, results, strict=True):
            out[i] = r
        return out


class VersionGroup(NamedTuple):
    """The header groups of one key version (one ``fixed`` header, bytes 0..10), in order of
    first appearance, and ``total``: how many items they hold (the fields charged to the key
    version)."""

    fixed: bytes
    groups: list[HeaderGroup]
    total: int

    def key_ids(self) -> tuple[int, int]:
        """``(key id, key version)`` the headers name; ``DecryptionError`` naming the first item
        when they are not v1 AEAD headers (nothing here is authenticated yet)."""
        first = self.groups[0]
        try:
            return key_ids(first.header, HEADER_LEN)
        except DecryptionError:
            raise DecryptionError(first.where(0)) from None


def header_groups(datas: Sequence[bytes]) -> list[HeaderGroup]:
    """Binary ciphertexts (``bytes``, at least one) by header, in order of first appearance;
    a single group with ``positions=None`` when every item begins with the first one's header (such
    items may still be shorter than ``MIN_LEN``: the opener checks lengths). Otherwise an item
    too short to hold a header raises ``DecryptionError`` naming it."""
    head = datas[0][:HEADER_LEN]
    if len(head) == HEADER_LEN and all(map(bytes.startswith, datas, repeat(head))):
        return [HeaderGroup(head, None)]
    groups: dict[bytes, list[int]] = {}
    for i, d in enumerate(datas):
        if len(d) < MIN_LEN:
            raise DecryptionError(f"item {i}")
        h = d[:HEADER_LEN]
        idx = groups.get(h)
        if idx is None:
            groups[h] = [i]
        else:
            idx.append(i)
    return [HeaderGroup(h, idx) for h, idx in groups.items()]


def version_groups(datas: Sequence[bytes]) -> list[VersionGroup]:
    """:func:`header_groups` gathered by key version (the fixed header), in order of first
    appearance: one key lookup and one audit event per key version."""
    groups = header_groups(datas)
    if len(groups) == 1:
        return [VersionGroup(groups[0].header[:FIXED_LEN], groups, len(datas))]
    versions: dict[bytes, list[HeaderGroup]] = {}
    for g in groups:
        versions.setdefault(g.header[:FIXED_LEN], []).append(g)
    return [
        VersionGroup(fixed, parts, sum(len(g.positions or ()) for g in parts))
        for fixed, parts in versions.items()
    ]


def item_index(exc: DecryptionError) -> int | None:
    """The index in a batch's ``DecryptionError`` (``where = "item i"``), or None."""
    where = exc.where or ""
    return int(where[5:]) if where.startswith("item ") and where[5:].isdigit() else None
