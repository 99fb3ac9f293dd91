"""TEMPORARY stand-in for Vault.tokenize/blind_index while vaultkit.tokens and
vaultkit.blindindex (issue 5) have not landed; used only when those modules are missing."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
from typing import Any

from vaultkit.envelope import encode_context
from vaultkit.vault import Vault

MISSING = (
    importlib.util.find_spec("vaultkit.blindindex") is None
    or importlib.util.find_spec("vaultkit.tokens") is None
)


class StandInVault(Vault):
    __slots__ = ()

    def _mac(self, key_name: str, version: int | None, data: bytes) -> bytes:
        keys = self.keys
        key = keys.primary_key(key_name) if version is None else keys.key_version(key_name, version)
        return hmac.new(key.material, data, hashlib.sha256).digest()

    def blind_index(
        self, key_name: str, value: Any, *, context: Any, bits: int, version: int | None = None
    ) -> bytes:
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return self._mac(key_name, version, encode_context(context) + raw)[: (bits + 7) // 8]

    def blind_index_candidates(
        self, key_name: str, value: Any, *, context: Any, bits: int
    ) -> list[bytes]:
        return [
            self.blind_index(key_name, value, context=context, bits=bits, version=v)
            for v in self.keys.readable_versions(key_name)
        ]

    def _stream(self, key_name: str, version: int | None, context: Any, n: int) -> list[int]:
        return list(self._mac(key_name, version, encode_context(context))[:n])

    def tokenize(
        self, key_name: str, value: str, *, format: Any, context: Any, version: int | None = None
    ) -> str:
        s = self._stream(key_name, version, context, len(value))
        return "".join(str((int(c) + k) % 10) for c, k in zip(value, s))

    def detokenize(
        self, key_name: str, token: str, *, format: Any, context: Any, version: int | None = None
    ) -> str:
        s = self._stream(key_name, version, context, len(token))
        return "".join(str((int(c) - k) % 10) for c, k in zip(token, s))
