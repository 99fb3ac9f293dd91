"""Fixtures of the stream tests: key material for the two kinds of recipients.

``kms``: a small but real KMS (the protocol of ``vaultkit.keys._kms``) whose KEK versions are
AES-256-GCM keys held in memory, so stream tests do not depend on a key ring's file format.
End-to-end tests with ``KeyRing``/``LocalKMS`` are in test_keyring.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pytest

from vaultkit.errors import DecryptionError, KMSError
from vaultkit.hazmat.aead import AES256GCM
from vaultkit.keys._kms import WrappedKey
from vaultkit.stream import _recipients


class MemoryKMS:
    """KEK versions in memory; wrap = nonce || AES-256-GCM(KEK_v, nonce, dek, ad)."""

    kind = "memory"

    def __init__(self, name: str = "memory:test") -> None:
        self._name = name
        self._keks: dict[int, bytes] = {}
        self.initialize()

    @property
    def kek_id(self) -> str:
        return self._name

    @property
    def kek_version(self) -> int:
        return max(self._keks)

    def initialize(self) -> None:
        self._keks = {1: os.urandom(32)}

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: Mapping[str, Any]) -> None:
        pass

    def wrap(self, dek: bytes, *, associated_data: bytes) -> WrappedKey:
        nonce = os.urandom(12)
        blob = nonce + AES256GCM(self._keks[self.kek_version]).encrypt(nonce, dek, associated_data)
        return WrappedKey(self._name, self.kek_version, blob)

    def unwrap(self, wrapped: WrappedKey, *, associated_data: bytes) -> bytes:
        kek = self._keks.get(wrapped.kek_version)
        if wrapped.kek_id != self._name or kek is None:
            raise KMSError("unknown KEK")
        try:
            return AES256GCM(kek).decrypt(wrapped.blob[:12], wrapped.blob[12:], associated_data)
        except DecryptionError:
            raise KMSError("unwrap failed") from None

    def rotate(self) -> int:
        self._keks[self.kek_version + 1] = os.urandom(32)
        return self.kek_version

    def drop(self, version: int) -> None:
        del self._keks[version]

    def close(self) -> None:
        pass


@pytest.fixture
def kms() -> MemoryKMS:
    return MemoryKMS()


def sm2_keypair() -> tuple[str, str]:
    """(private hex, public hex)."""
    private = os.urandom(32).hex()
    return private, _recipients._sm2_public_of(private)


@pytest.fixture(scope="session")
def sm2_pair() -> tuple[str, str]:
    return sm2_keypair()


@pytest.fixture(scope="session")
def other_sm2_pair() -> tuple[str, str]:
    return sm2_keypair()
