"""The key store document of a KeyRing as typed shapes (``TypedDict``), for the type checker.

The format itself (what each field means, how it is authenticated) is described in
:mod:`vaultkit.keys._ring_format`; this module only names its shapes. A store read from disk is
checked by ``_RingStore._load`` and ``_ring_format._validate`` before the ring relies on these
types. A KMS's own state (``kms``) is opaque here: each backend reads it back itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from vaultkit.access._grant import GrantDoc
from vaultkit.keys._kms import KMSState, WrappedKeyDoc

__all__ = [
    "KekDoc",
    "KeyEntryDoc",
    "RingBody",
    "SignatureDoc",
    "StoreDoc",
    "StreamKeyDoc",
    "VersionDoc",
    "kms_version",
]


class _VersionFields(TypedDict):
    version: int
    state: str  # a KeyState value
    created: str
    wrapped: WrappedKeyDoc | None  # None once destroyed


class VersionDoc(_VersionFields, total=False):
    """One version of a key (``keys[].versions[]``)."""

    retired_at: str  # ISO 8601, while retired


class KeyEntryDoc(TypedDict):
    """One named key (``keys[]``)."""

    name: str
    key_id: int
    algorithm: str  # an Algorithm label
    created: str
    versions: list[VersionDoc]


class KekDoc(TypedDict):
    """One KEK recipient (``keks[]``, format 2)."""

    name: str
    kms: KMSState
    ring_key: WrappedKeyDoc


class StreamKeyDoc(TypedDict):
    """An earlier epoch's stream key (``stream_keys[]``)."""

    epoch: int
    wrapped: WrappedKeyDoc


class TokenDoc(TypedDict):
    """A bearer token of the key service: its principal and the SM3 hash of the token."""

    principal: str
    sm3: str
    created: str


class RingBody(TypedDict, total=False):
    """``BODY``: the authenticated part of the store (format 2; ``kms`` and ``store_key`` in
    format 1 instead of ``epoch`` and ``keks``)."""

    ring_id: str
    created: str
    generation: int
    epoch: int
    keks: list[KekDoc]
    next_key_id: int
    keys: list[KeyEntryDoc]
    stream_keys: list[StreamKeyDoc]
    kms: KMSState  # format 1
    store_key: WrappedKeyDoc  # format 1
    grants: list[GrantDoc]  # principals' grants (vaultkit.keys._ring_grants)
    tokens: list[TokenDoc]  # the key service's bearer tokens, by SM3 hash
    access_control: bool  # set by the first grant, never cleared


class SignatureDoc(TypedDict):
    """An operator's SM2 signature of ``BODY`` (see :mod:`vaultkit.keys._store_signing`)."""

    signer: str
    sig: str


class StoreDoc(TypedDict, total=False):
    """The whole store file."""

    vaultkit_keyring: int
    body: RingBody
    mac: str
    signature: SignatureDoc


def kms_version(state: Mapping[str, object]) -> int:
    """The current KEK version a stored KMS state records (1 when it records none)."""
    current = state.get("current", 1)
    if not isinstance(current, int | str | float):
        raise TypeError("a KEK version is a number")
    return int(current)
