"""What a data key is, independent of where it is stored.

Shared by the key ring (which stores and wraps keys) and the recipes (which use them): envelope,
tokens, blind indexes and streams receive a :class:`KeyProvider`, never a key ring or a KMS.
"""

from __future__ import annotations

import enum
from typing import Protocol

from vaultkit._nopickle import NoPickle
from vaultkit.errors import UnsupportedAlgorithmError, VaultkitTypeError

__all__ = ["Algorithm", "DataKey", "KeyProvider", "KeyState", "recipe_key"]


class Algorithm(enum.Enum):
    """A DEK's algorithm, chosen when the key is created; ``wire_id`` is its byte in formats."""

    SM4_GCM = ("SM4-GCM", 0x01, 16)
    AES_256_GCM = ("AES-256-GCM", 0x02, 32)
    FF1_SM4 = ("FF1-SM4", 0x10, 16)
    FF1_AES256 = ("FF1-AES256", 0x11, 32)
    HMAC_SM3 = ("HMAC-SM3", 0x20, 32)
    HMAC_SHA256 = ("HMAC-SHA256", 0x21, 32)

    def __init__(self, label: str, wire_id: int, key_size: int) -> None:
        self.label = label
        self.wire_id = wire_id
        self.key_size = key_size

    @classmethod
    def parse(cls, value: Algorithm | str) -> Algorithm:
        """``Algorithm.SM4_GCM`` or its label ``"SM4-GCM"`` (case-insensitive)."""
        if isinstance(value, Algorithm):
            return value
        for alg in cls:
            if alg.label.lower() == str(value).lower() or alg.name.lower() == str(value).lower():
                return alg
        raise UnsupportedAlgorithmError(
            f"unknown algorithm {value!r}; expected one of {', '.join(a.label for a in cls)}"
        )

    @classmethod
    def from_wire(cls, wire_id: int) -> Algorithm:
        for alg in cls:
            if alg.wire_id == wire_id:
                return alg
        raise UnsupportedAlgorithmError(f"unknown algorithm id 0x{wire_id:02x}")

    @property
    def is_aead(self) -> bool:
        return self in (Algorithm.SM4_GCM, Algorithm.AES_256_GCM)

    @property
    def is_ff1(self) -> bool:
        return self in (Algorithm.FF1_SM4, Algorithm.FF1_AES256)

    @property
    def is_mac(self) -> bool:
        return self in (Algorithm.HMAC_SM3, Algorithm.HMAC_SHA256)

    def __str__(self) -> str:
        return self.label


class KeyState(enum.Enum):
    """Lifecycle of a key version (docs/keys.md; docs/architecture.md for the layers)."""

    PRIMARY = "primary"  # encrypts (exactly one per key) and decrypts
    ACTIVE = "active"  # decrypts
    RETIRED = "retired"  # refuses unless forced
    DESTROYED = "destroyed"  # material erased (crypto-shredding)


class DataKey(NoPickle):
    """One unwrapped DEK version. Holds secret material: no repr of it, no pickling."""

    __slots__ = ("_material", "algorithm", "key_id", "name", "state", "version")

    def __init__(
        self,
        *,
        name: str,
        key_id: int,
        version: int,
        algorithm: Algorithm,
        state: KeyState,
        material: bytes,
    ) -> None:
        self.name = name
        self.key_id = key_id
        self.version = version
        self.algorithm = algorithm
        self.state = state
        self._material = material

    @property
    def material(self) -> bytes:
        """The raw key bytes. Pass them only to ``vaultkit.hazmat``; never log or store them."""
        return self._material

    def __repr__(self) -> str:
        return (
            f"DataKey(name={self.name!r}, version={self.version}, "
            f"algorithm={self.algorithm.label}, state={self.state.value})"
        )


class KeyProvider(Protocol):
    """What recipes need from a key ring: unwrapped DEKs by name, id and version."""

    def primary_key(self, name: str) -> DataKey:
        """The version that encrypts. Raises ``KeyNotFoundError``."""
        ...

    def key_version(self, name: str, version: int, *, force: bool = False) -> DataKey:
        """A given version. Raises ``KeyNotFoundError``; ``KeyStateError`` for a retired version
        (unless ``force``) or a destroyed one."""
        ...

    def key_by_id(self, key_id: int, version: int, *, force: bool = False) -> DataKey:
        """Like :meth:`key_version`, by the numeric key id stored in ciphertexts."""
        ...

    def readable_versions(self, name: str) -> list[int]:
        """Versions that decrypt without force (primary first, then active, newest first)."""
        ...


def recipe_key(
    keys: KeyProvider, name: str, version: int | None, *, accepts: frozenset[Algorithm], need: str
) -> DataKey:
    """``name``'s primary key (``version=None``) or the given version, for a recipe (tokens, blind
    indexes) that takes only keys of ``accepts``; ``need`` ends the error message otherwise."""
    if version is None:
        key = keys.primary_key(name)
    elif isinstance(version, bool) or not isinstance(version, int):
        raise VaultkitTypeError("version must be an int or None")
    else:
        key = keys.key_version(name, version)
    if key.algorithm not in accepts:
        raise UnsupportedAlgorithmError(f"key {name!r} is {key.algorithm.label}; {need}")
    return key
