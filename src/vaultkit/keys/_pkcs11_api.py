"""python-pkcs11 as the key layer uses it (:mod:`vaultkit.keys._pkcs11`,
:mod:`vaultkit.keys._anchor`), as Protocols: the oldest releases vaultkit allows carry no type
information, and newer ones type ``Session.get_key()`` as a ``Key`` without ``wrap_key()``.
Attribute, Mechanism, KeyType and ObjectClass values are python-pkcs11's enums, passed through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

__all__ = ["Lib", "SecretKey", "Session", "Slot", "Token", "TokenObject"]


class TokenObject(Protocol):
    def __getitem__(self, attribute: object, /) -> bytes: ...

    def destroy(self) -> None: ...


class SecretKey(TokenObject, Protocol):
    def wrap_key(self, key: TokenObject, *, mechanism: object) -> bytes: ...

    def unwrap_key(
        self,
        object_class: object,
        key_type: object,
        key_data: bytes,
        *,
        mechanism: object,
        store: bool,
        template: Mapping[object, object],
    ) -> TokenObject: ...


class Session(Protocol):
    def get_key(self, *, object_class: object, key_type: object, label: str) -> SecretKey: ...

    def generate_key(
        self,
        key_type: object,
        key_length: int,
        *,
        label: str,
        store: bool,
        template: Mapping[object, object],
    ) -> SecretKey: ...

    def create_object(self, attrs: Mapping[object, object], /) -> TokenObject: ...

    def get_objects(self, attrs: Mapping[object, object], /) -> Iterable[TokenObject]: ...

    def close(self) -> None: ...


class Token(Protocol):
    label: str
    serial: bytes | str

    def open(self, *, user_pin: str | None = None, rw: bool = False) -> Session: ...


class Slot(Protocol):
    slot_id: int

    def get_token(self) -> Token: ...


class Lib(Protocol):
    def get_slots(self, *, token_present: bool = False) -> list[Slot]: ...
