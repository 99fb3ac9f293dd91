"""The KMS protocol: what the key ring needs from wherever its KEKs live.

A KMS holds one or more numbered **KEK versions** (key-encryption keys) and wraps keys under
the current one: a key ring's ring key (which wraps the ring's data keys), a stream's file key.
Three backends implement it: :class:`~vaultkit.keys.LocalKMS` (passphrase or key file),
:class:`~vaultkit.keys.PKCS11KMS` (inside a PKCS#11 token) and
:class:`~vaultkit.keys.SM2Recipients` (GM/T 0003 public-key recipients).

Protocol (all methods may raise :class:`vaultkit.errors.KMSError`):

``kind`` (str)
    ``"local"``, ``"pkcs11"`` or ``"sm2"``; stored in the key store so the right backend is used.
``kek_id`` (str)
    Stable identifier of this KEK chain (not secret), e.g. ``"local:9f3a..."``.
``kek_version`` (int)
    The current KEK version: :meth:`wrap` uses it.
``initialize() -> None``
    Prepare version 1 for a new key store (draw a salt, generate the KEK in the token, ...).
``state() -> dict``
    The backend's public parameters (salts, scrypt costs, key labels, recipient public keys) as a
    JSON-able mapping. Never secret. The key ring stores it and authenticates it.
``load_state(state) -> None``
    Restore from a stored :meth:`state`. Parameters read from a file are checked and capped
    (a hostile file cannot make opening hang); refuses a state of another backend.
``wrap(dek, *, associated_data) -> WrappedKey``
    Encrypt ``dek`` under the current KEK version, binding ``associated_data`` (the DEK's
    identity: key ring id, name, key id, version, algorithm); unwrapping with other associated
    data fails.
``unwrap(wrapped, *, associated_data) -> bytes``
    Inverse of :meth:`wrap` for any KEK version this KMS still has. Wrong KEK, wrong associated
    data or a modified blob raise ``KMSError`` (without saying which).
``rotate() -> int``
    Create a new KEK version, make it current and return its number. Older versions still
    unwrap; the key ring then wraps a fresh ring key under it (:meth:`KeyRing.rotate_kek`).
``close() -> None``
    Forget cached KEK material and release sessions.

KMS objects hold secrets (or sessions): their ``repr`` shows no material and they refuse
pickling.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, TypedDict, runtime_checkable

from vaultkit._nopickle import NoPickle
from vaultkit.errors import KMSError

__all__ = ["KMS", "KMSState", "NoPickle", "WrappedKey", "WrappedKeyDoc"]

# A KMS's public state as stored in the key store: JSON whose shape only that backend knows
# (each backend reads it back field by field in load_state, refusing what it did not write).
KMSState = dict[str, object]


class WrappedKeyDoc(TypedDict):
    """A :class:`WrappedKey` in a JSON document (the key store): ``blob`` is base64."""

    kek_id: str
    kek_version: int
    blob: str


@dataclass(frozen=True)
class WrappedKey:
    """A DEK wrapped by a KMS: the KEK chain id, the KEK version and the opaque blob."""

    kek_id: str
    kek_version: int
    blob: bytes

    def to_json(self) -> WrappedKeyDoc:
        return {
            "kek_id": self.kek_id,
            "kek_version": self.kek_version,
            "blob": base64.b64encode(self.blob).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> WrappedKey:
        try:
            kek_id, version, blob = data["kek_id"], data["kek_version"], data["blob"]
            if not isinstance(kek_id, str) or not isinstance(version, int) or version < 1:
                raise ValueError
            if not isinstance(blob, str | bytes):
                raise TypeError
            return cls(kek_id, version, base64.b64decode(blob, validate=True))
        except (KeyError, TypeError, ValueError):
            raise KMSError("malformed wrapped key") from None

    def __repr__(self) -> str:
        return f"WrappedKey(kek_id={self.kek_id!r}, kek_version={self.kek_version})"


@runtime_checkable
class KMS(Protocol):
    """See the module docstring for the contract of each member."""

    @property
    def kind(self) -> str: ...

    @property
    def kek_id(self) -> str: ...

    @property
    def kek_version(self) -> int: ...

    def initialize(self) -> None: ...

    def state(self) -> KMSState: ...

    def load_state(self, state: Mapping[str, object]) -> None: ...

    def wrap(self, dek: bytes, *, associated_data: bytes) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, *, associated_data: bytes) -> bytes: ...

    def rotate(self) -> int: ...

    def close(self) -> None: ...
