"""The key service's key metadata as a :class:`vaultkit.remote.RemoteVault` shows it: shaped as
the key ring's (``keys()``, ``key_info``, ``primary_key``, ``readable_versions``, ``in``), so
``vaultkit.ext.sqlalchemy.configure`` and ``reencrypt`` read it as they read a ring. Never
material: a :class:`RemoteKey` refuses it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypedDict, cast

from vaultkit.errors import KeyNotFoundError, KeyStateError
from vaultkit.keys import Algorithm, KeyState
from vaultkit.service._wire import WireKey, decode_keys

if TYPE_CHECKING:
    from vaultkit._remote.transport import Transport
    from vaultkit.keys import KeyInfo
    from vaultkit.remote import RemoteVault

__all__ = ["RemoteKey", "RemoteKeys"]

_METADATA_TTL = 0.25  # seconds: as the in-process ring's store refresh bound


class _WireKeys(TypedDict):
    """The answer of ``GET /v1/keys``."""

    keys: list[WireKey]


class RemoteKey:
    """A key version's metadata as the service tells it; no material (``material`` refuses)."""

    __slots__ = ("algorithm", "key_id", "name", "state", "version")

    def __init__(
        self, name: str, key_id: int, version: int, algorithm: Algorithm, state: KeyState
    ) -> None:
        self.name = name
        self.key_id = key_id
        self.version = version
        self.algorithm = algorithm
        self.state = state

    @property
    def material(self) -> bytes:
        raise KeyStateError(
            f"key {self.name!r} version {self.version}: key material stays in the key service"
        )

    def __repr__(self) -> str:
        return (
            f"RemoteKey(name={self.name!r}, version={self.version}, "
            f"algorithm={self.algorithm.label}, state={self.state.value})"
        )


class RemoteKeys:
    """The key service's key metadata, shaped as the key ring's (``keys()``, ``key_info``,
    ``primary_key``, ``readable_versions``, ``in``), refreshed at most every 0.25 s; what
    ``vaultkit.ext.sqlalchemy.configure`` and ``reencrypt`` read. Never material."""

    def __init__(self, vault: RemoteVault) -> None:
        self._transport: Transport = vault._transport
        self._lock = threading.Lock()
        self._cache: tuple[float, dict[str, KeyInfo]] | None = None

    def _infos(self) -> dict[str, KeyInfo]:
        with self._lock:
            now = time.monotonic()
            if self._cache is not None and now - self._cache[0] < _METADATA_TTL:
                return self._cache[1]
        data = cast(_WireKeys, self._transport.call("/v1/keys", None, idempotent=True))
        infos = decode_keys(data["keys"])
        with self._lock:
            self._cache = (time.monotonic(), infos)
        return infos

    def keys(self) -> list[KeyInfo]:
        return list(self._infos().values())

    def key_info(self, name: str) -> KeyInfo:
        info = self._infos().get(name)
        if info is None:
            raise KeyNotFoundError(f"no key {name!r} in the key service")
        return info

    def __contains__(self, name: object) -> bool:
        return name in self._infos()

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos())

    def _key(self, info: KeyInfo, version: int) -> RemoteKey:
        for v in info.versions:
            if v.version == version:
                return RemoteKey(info.name, info.key_id, version, info.algorithm, v.state)
        raise KeyNotFoundError(f"no version {version} of key {info.name!r}")

    def primary_key(self, name: str) -> RemoteKey:
        info = self.key_info(name)
        return self._key(info, info.primary_version)

    def key_version(self, name: str, version: int, *, force: bool = False) -> RemoteKey:
        return self._key(self.key_info(name), version)

    def key_by_id(self, key_id: int, version: int, *, force: bool = False) -> RemoteKey:
        for info in self._infos().values():
            if info.key_id == key_id:
                return self._key(info, version)
        raise KeyNotFoundError(f"no key with id {key_id}")

    def readable_versions(self, name: str) -> list[int]:
        """Primary first, then active versions, newest first (as the key ring)."""
        info = self.key_info(name)
        active = sorted(
            (v.version for v in info.versions if v.state is KeyState.ACTIVE), reverse=True
        )
        return [info.primary_version, *active]
