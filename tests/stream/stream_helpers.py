"""Key material helpers of the stream tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from vaultkit.errors import DecryptionError, KMSError
from vaultkit.hazmat.aead import AES256GCM
from vaultkit.keys import WrappedKey


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


class FileKeyIdentity:
    """Opens any stanza with a known file key: checks the chunk format without a recipient."""

    def __init__(self, file_key: bytes) -> None:
        self._file_key = file_key

    def unwrap_file_key(self, stanza: object, *, core: bytes) -> bytes | None:
        return self._file_key


def pattern(size: int) -> bytes:
    """The golden files' plaintext: byte i is (7 * i + 3) mod 256."""
    return bytes((7 * i + 3) % 256 for i in range(size))
