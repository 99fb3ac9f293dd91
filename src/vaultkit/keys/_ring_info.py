"""Metadata of a key ring's keys, versions and KEKs (never material)."""

from __future__ import annotations

from dataclasses import dataclass

from vaultkit.keys._model import Algorithm, KeyState

__all__ = ["KekInfo", "KeyInfo", "VersionInfo"]


@dataclass(frozen=True)
class KekInfo:
    """One KEK recipient of a key ring (never material): its name, backend kind, current KEK
    version, and whether this ring object was opened with it."""

    name: str
    kind: str
    kek_version: int
    opened_with: bool


@dataclass(frozen=True)
class VersionInfo:
    """Metadata of one key version (never material)."""

    version: int
    state: KeyState
    kek_version: int | None
    created: str


@dataclass(frozen=True)
class KeyInfo:
    """Metadata of one named key (never material)."""

    name: str
    key_id: int
    algorithm: Algorithm
    created: str
    versions: tuple[VersionInfo, ...]

    @property
    def primary_version(self) -> int:
        return next(v.version for v in self.versions if v.state is KeyState.PRIMARY)
