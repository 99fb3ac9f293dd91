"""Argument checks and the secret-holder base shared by the hazmat modules (private)."""

from __future__ import annotations

from collections.abc import Sequence

from vaultkit._nopickle import NoPickle
from vaultkit.errors import InvalidKeyError, VaultkitTypeError

__all__ = ["SecretHolder", "require_bytes", "require_bytes_list", "require_key"]


def require_bytes(name: str, value: object) -> bytes:
    """``value`` as ``bytes``; ``bytes``, ``bytearray`` and ``memoryview`` are accepted."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise VaultkitTypeError(f"{name} must be bytes, not {type(value).__name__}")


def require_bytes_list(name: str, values: object, count: int | None = None) -> list[bytes]:
    """A sequence of byte strings as a list; ``count`` (when given) is its required length."""
    if type(values) is list and set(map(type, values)) <= {bytes}:
        out = values  # the common case, checked in C
    elif isinstance(values, bytes | bytearray | memoryview | str) or not isinstance(
        values, Sequence
    ):
        raise VaultkitTypeError(f"{name} must be a sequence of bytes")
    else:
        out = [require_bytes(name, v) for v in values]
    if count is not None and len(out) != count:
        raise VaultkitTypeError(f"{name} has {len(out)} items, expected {count}")
    return out


def require_key(key: object, sizes: tuple[int, ...], what: str) -> bytes:
    """Key material of one of ``sizes`` bytes; the material never appears in the error."""
    material = require_bytes("key", key)
    if len(material) not in sizes:
        allowed = ", ".join(str(s) for s in sizes)
        raise InvalidKeyError(f"{what} key must be {allowed} bytes, got {len(material)}")
    return material


class SecretHolder(NoPickle):
    """Base of every hazmat object built from a key: no repr of the material, no pickling."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} (key hidden)>"
