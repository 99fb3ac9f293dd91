"""Rollback anchors: a monotonic counter kept outside the key store.

Every write of a key store increments its ``generation`` (inside the authenticated body). An
**anchor** remembers, somewhere the store's writer cannot roll back with the file, the highest
generation written. On open and on every reload the key ring compares: a store older than its
anchor is a copy put back (yesterday's backup, a restored disk image) and is refused with
``KeyStoreError``. Without an anchor, only a rollback within the lifetime of one open
``KeyRing`` object is noticed (it remembers the generation it last saw).

Protocol (``vaultkit.keys.Anchor``):

``read(ring_id: str) -> int | None``
    The highest generation recorded for the ring (hex ring id), None when nothing is recorded.
``advance(ring_id: str, generation: int) -> None``
    Record ``generation`` if it is higher than the recorded one (never lowers it).
``close() -> None``
    Release sessions or connections.

:class:`PKCS11Anchor` keeps the counter in a PKCS#11 token as a data object (``CKO_DATA``,
private, token object, label ``vaultkit-anchor-<ring id>``, value an 8-byte big-endian
counter). A database anchor (a ``vaultkit_keyring_anchor`` table) fits the same protocol.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from vaultkit._nopickle import NoPickle
from vaultkit.errors import KMSError

if TYPE_CHECKING:
    from vaultkit.keys._pkcs11 import PKCS11KMS
    from vaultkit.keys._pkcs11_api import TokenObject

__all__ = ["Anchor", "PKCS11Anchor"]

_LABEL = "vaultkit-anchor-"
_COUNTER = struct.Struct(">Q")


@runtime_checkable
class Anchor(Protocol):
    """See the module docstring."""

    def read(self, ring_id: str) -> int | None: ...

    def advance(self, ring_id: str, generation: int) -> None: ...

    def close(self) -> None: ...


class PKCS11Anchor(NoPickle):
    """A rollback anchor in a PKCS#11 token, over a :class:`~vaultkit.keys.PKCS11KMS`'s session.

    ``PKCS11Anchor(kms)``: the token of ``kms`` (any PKCS11KMS logged in to it; it need not be
    the KMS that wraps the ring). Anyone holding the token's user PIN can rewrite the counter:
    the anchor is as trustworthy as the token's access control.
    """

    __slots__ = ("_kms",)

    def __init__(self, kms: PKCS11KMS) -> None:
        self._kms = kms

    def read(self, ring_id: str) -> int | None:
        with self._kms._lock:
            objects = self._objects(ring_id)
            values = [self._value(o) for o in objects]
        return max(values) if values else None

    def advance(self, ring_id: str, generation: int) -> None:
        from pkcs11 import Attribute, ObjectClass

        with self._kms._lock:
            objects = self._objects(ring_id)
            current = max((self._value(o) for o in objects), default=None)
            if current is not None and current >= generation:
                return
            try:
                # a new object first, then the old ones: a crash in between leaves two, and
                # read() takes the highest
                self._kms._open().create_object(
                    {
                        Attribute.CLASS: ObjectClass.DATA,
                        Attribute.LABEL: _LABEL + ring_id,
                        Attribute.APPLICATION: "vaultkit",
                        Attribute.VALUE: _COUNTER.pack(generation),
                        Attribute.TOKEN: True,
                        Attribute.PRIVATE: True,
                        Attribute.MODIFIABLE: True,
                    }
                )
                for obj in objects:
                    obj.destroy()
            except Exception as exc:  # python-pkcs11's own exception tree
                raise KMSError(
                    f"cannot advance the rollback anchor: {type(exc).__name__}"
                ) from None

    def close(self) -> None:
        """Nothing of its own: the session belongs to the KMS."""

    def __repr__(self) -> str:
        return f"PKCS11Anchor(kms={self._kms!r})"

    def _objects(self, ring_id: str) -> list[TokenObject]:
        from pkcs11 import Attribute, ObjectClass

        try:
            return list(
                self._kms._open().get_objects(
                    {Attribute.CLASS: ObjectClass.DATA, Attribute.LABEL: _LABEL + ring_id}
                )
            )
        except KMSError:
            raise
        except Exception as exc:
            raise KMSError(f"cannot read the rollback anchor: {type(exc).__name__}") from None

    @staticmethod
    def _value(obj: TokenObject) -> int:
        from pkcs11 import Attribute

        try:
            raw = bytes(obj[Attribute.VALUE])
            (value,) = _COUNTER.unpack(raw)
        except Exception:
            raise KMSError("the rollback anchor in the token is malformed") from None
        return int(value)
