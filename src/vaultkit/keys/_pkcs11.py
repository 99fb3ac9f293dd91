"""PKCS11KMS: KEKs inside a PKCS#11 token, which wraps and unwraps keys given to it (a key
ring's ring key, a stream's file key).

KEK version ``v`` is a token object: an AES-256 secret key labelled ``<key_label>-v<v>``,
generated in the token with ``CKA_SENSITIVE`` true and ``CKA_EXTRACTABLE`` false (it never
leaves the token), usable only to wrap and unwrap. Wrapping uses ``CKM_AES_KEY_WRAP_PAD``
(RFC 5649) inside the token over a session object holding::

    payload = SM3("vaultkit pkcs11 wrap v1" 0x00 || associated data)[:16] || dek

Key wrap has no associated data; its integrity check (RFC 5649 section 3) covers the payload,
so the digest prefix binds the associated data: unwrapping checks it in constant time. The
unwrapped session object is read and destroyed at once. SoftHSM2 (and most HSMs) have no SM4:
KEKs in a token are AES-256 whatever the DEKs' algorithm. The PIN comes from the caller or
``VAULTKIT_PKCS11_PIN``, never argv. Each wrap or unwrap is a token round trip (~0.1-0.3 ms
in SoftHSM2), which the Vault's DEK cache keeps off the per-field path.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Mapping
from typing import TypedDict, cast

from vaultkit._nopickle import NoPickle
from vaultkit.errors import KeyStoreError, KMSError
from vaultkit.hazmat.hashes import sm3
from vaultkit.keys import _fork
from vaultkit.keys._kms import KMSState, WrappedKey
from vaultkit.keys._pkcs11_api import Lib, SecretKey, Session, Token

__all__ = ["ENV_PIN", "PKCS11KMS"]

ENV_PIN = "VAULTKIT_PKCS11_PIN"
_AD = b"vaultkit pkcs11 wrap v1\x00"
_BIND = 16


class _State(TypedDict, total=False):
    """What :meth:`PKCS11KMS.state` writes (``token_serial`` once known)."""

    kind: str
    token_label: str
    key_label: str
    current: int
    versions: list[int]
    token_serial: str


def _text(value: bytes | str) -> str:
    """A fixed-width PKCS#11 text field (blank padded), as str."""
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else value).strip()


def _binding(associated_data: bytes) -> bytes:
    return sm3(_AD + associated_data)[:_BIND]


class PKCS11KMS(NoPickle):
    """KMS inside a PKCS#11 token (python-pkcs11).

    ``PKCS11KMS(module="/usr/lib/softhsm/libsofthsm2.so", token_label=..., pin=...,
    key_label="vaultkit-kek")``. The session opens on first use and closes with :meth:`close`.
    ``slot`` (a slot id) and ``token_serial`` narrow the choice when several tokens carry the
    label; the serial is recorded in the key store, so a ring opened by label alone finds the
    same token again. The token found must carry ``token_label`` (and the serial, if known).
    """

    __slots__ = (
        "__weakref__",
        "_current",
        "_key_label",
        "_keys",
        "_lock",
        "_module",
        "_pin",
        "_serial",
        "_session",
        "_slot",
        "_token_label",
        "_versions",
    )

    def __init__(
        self,
        *,
        module: str,
        token_label: str,
        pin: str | None = None,
        key_label: str = "vaultkit-kek",
        slot: int | None = None,
        token_serial: str | None = None,
    ) -> None:
        if pin is None:
            pin = os.environ.get(ENV_PIN)
            if not pin:
                raise KMSError(f"no PKCS#11 PIN: pass one or set {ENV_PIN}")
        self._module = module
        self._token_label = token_label
        self._pin = pin
        self._key_label = key_label
        self._slot = slot
        self._serial = token_serial
        self._versions: list[int] = []
        self._current = 0
        self._session: Session | None = None
        self._keys: dict[int, SecretKey] = {}
        self._lock = threading.RLock()
        _fork.track(self)

    def _after_fork(self) -> None:
        # PKCS#11 sessions and object handles belong to the parent (PKCS#11 v2.40 section 6.7.7:
        # a child must not use them); the child opens its own on first use, with a fresh lock
        self._lock = threading.RLock()
        self._session = None
        self._keys = {}

    @property
    def kind(self) -> str:
        return "pkcs11"

    @property
    def kek_id(self) -> str:
        return f"pkcs11:{self._token_label}/{self._key_label}"

    @property
    def kek_version(self) -> int:
        if not self._current:
            raise KMSError("PKCS11KMS is not initialized (create or open a key ring)")
        return self._current

    def initialize(self) -> None:
        with self._lock:
            self._key(1, create=True)
            self._versions, self._current = [1], 1

    def state(self) -> KMSState:
        state: _State = {
            "kind": "pkcs11",
            "token_label": self._token_label,
            "key_label": self._key_label,
            "current": self._current,
            "versions": list(self._versions),
        }
        if self._serial is not None:
            state["token_serial"] = self._serial
        return dict(state)

    def load_state(self, state: Mapping[str, object]) -> None:
        doc = cast(_State, state)  # as state() wrote it; every field is checked here
        try:
            if state["kind"] != "pkcs11":
                raise KMSError(f"this key ring uses the {state['kind']!r} KMS, not PKCS#11")
            token, label, current = doc["token_label"], doc["key_label"], doc["current"]
            versions = [int(v) for v in doc["versions"]]
        except (KeyError, TypeError, ValueError):
            raise KeyStoreError("malformed PKCS#11 parameters in the key store") from None
        if not isinstance(label, str) or current not in versions:
            raise KeyStoreError("malformed PKCS#11 parameters in the key store")
        if token != self._token_label:
            raise KMSError(f"this key ring's KEK is in token {token!r}")
        serial = doc.get("token_serial")
        if serial is not None and not isinstance(serial, str):
            raise KeyStoreError("malformed PKCS#11 parameters in the key store")
        if serial is not None and self._serial is not None and serial != self._serial:
            raise KMSError(f"this key ring's KEK is in the token with serial {serial!r}")
        with self._lock:
            if serial is not None and self._serial is None:
                self._serial = serial  # find the same token again by its serial
            if label != self._key_label:
                self._keys.clear()
            self._key_label, self._versions, self._current = label, versions, current

    def wrap(self, dek: bytes, *, associated_data: bytes) -> WrappedKey:
        from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

        version = self.kek_version
        with self._lock:
            kek = self._key(version)
            try:
                obj = self._open().create_object(
                    {
                        Attribute.CLASS: ObjectClass.SECRET_KEY,
                        Attribute.KEY_TYPE: KeyType.GENERIC_SECRET,
                        Attribute.VALUE: _binding(associated_data) + bytes(dek),
                        Attribute.TOKEN: False,
                        Attribute.EXTRACTABLE: True,
                        Attribute.SENSITIVE: False,
                    }
                )
                try:
                    blob = kek.wrap_key(obj, mechanism=Mechanism.AES_KEY_WRAP_PAD)
                finally:
                    obj.destroy()
            except Exception as exc:  # python-pkcs11 raises its own tree (RuntimeError etc.)
                raise KMSError(f"PKCS#11 wrap failed: {type(exc).__name__}") from None
        return WrappedKey(self.kek_id, version, bytes(blob))

    def unwrap(self, wrapped: WrappedKey, *, associated_data: bytes) -> bytes:
        from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

        if wrapped.kek_id != self.kek_id or wrapped.kek_version not in self._versions:
            raise KMSError("wrapped key was not made by this PKCS#11 KEK")
        with self._lock:
            kek = self._key(wrapped.kek_version)
            try:
                obj = kek.unwrap_key(
                    ObjectClass.SECRET_KEY,
                    KeyType.GENERIC_SECRET,
                    wrapped.blob,
                    mechanism=Mechanism.AES_KEY_WRAP_PAD,
                    store=False,
                    template={Attribute.EXTRACTABLE: True, Attribute.SENSITIVE: False},
                )
                try:
                    payload = bytes(obj[Attribute.VALUE])
                finally:
                    obj.destroy()
            except Exception:
                raise KMSError("wrapped key does not unwrap in the token") from None
        if len(payload) <= _BIND or not hmac.compare_digest(
            payload[:_BIND], _binding(associated_data)
        ):
            raise KMSError("wrapped key does not unwrap in the token")
        return payload[_BIND:]

    def rotate(self) -> int:
        with self._lock:
            version = max(self._versions, default=0) + 1
            self._key(version, create=True)
            self._versions.append(version)
            self._current = version
            return version

    def close(self) -> None:
        with self._lock:
            self._keys.clear()
            if self._session is not None:
                try:
                    self._session.close()
                finally:
                    self._session = None

    def __repr__(self) -> str:
        return (
            f"PKCS11KMS(token_label={self._token_label!r}, key_label={self._key_label!r}, "
            f"kek_version={self._current})"
        )

    # -- internals ------------------------------------------------------------------------------
    def _open(self) -> Session:
        if self._session is None:
            try:
                import pkcs11
            except ImportError:
                raise KMSError(
                    "PKCS11KMS needs python-pkcs11 (pip install vaultkit[pkcs11])"
                ) from None
            try:
                token = self._token(cast(Lib, pkcs11.lib(self._module)))
                try:
                    self._session = token.open(user_pin=self._pin, rw=True)
                except pkcs11.exceptions.UserAlreadyLoggedIn:
                    # PKCS#11 login is per process and token: another session of this process
                    # already logged in, and this session shares that login
                    self._session = token.open(rw=True)
            except KMSError:
                raise
            except Exception as exc:
                raise KMSError(
                    f"cannot open PKCS#11 token {self._token_label!r}: {type(exc).__name__}"
                ) from None
        return self._session

    def _token(self, lib: Lib) -> Token:
        """The token by slot id, or by label and serial; it must carry the label (and serial)."""
        found = []
        for slot in lib.get_slots(token_present=True):
            if self._slot is not None and slot.slot_id != self._slot:
                continue
            token = slot.get_token()
            if self._slot is None and token.label != self._token_label:
                continue
            found.append((token, _text(token.serial)))
        if not found:
            where = f"in slot {self._slot}" if self._slot is not None else repr(self._token_label)
            raise KMSError(f"no PKCS#11 token {where}")
        if self._serial is not None:
            found = [(t, serial) for t, serial in found if serial == self._serial]
        if len(found) != 1 or found[0][0].label != self._token_label:
            raise KMSError(
                f"no single PKCS#11 token {self._token_label!r}"
                + (f" with serial {self._serial!r}" if self._serial else "")
                + " (select one by --slot or its serial)"
            )
        token, serial = found[0]
        self._serial = serial
        return token

    def _key(self, version: int, *, create: bool = False) -> SecretKey:
        from pkcs11 import Attribute, KeyType, ObjectClass
        from pkcs11.exceptions import MultipleObjectsReturned, NoSuchKey

        key = self._keys.get(version)
        if key is not None:
            return key
        session = self._open()
        label = f"{self._key_label}-v{version}"
        try:
            key = session.get_key(
                object_class=ObjectClass.SECRET_KEY, key_type=KeyType.AES, label=label
            )
        except NoSuchKey:
            if not create:
                raise KMSError(f"KEK {label!r} is not in token {self._token_label!r}") from None
            try:
                key = session.generate_key(
                    KeyType.AES,
                    256,
                    label=label,
                    store=True,
                    template={
                        Attribute.SENSITIVE: True,
                        Attribute.EXTRACTABLE: False,
                        Attribute.WRAP: True,
                        Attribute.UNWRAP: True,
                        Attribute.ENCRYPT: False,
                        Attribute.DECRYPT: False,
                        Attribute.PRIVATE: True,
                    },
                )
            except Exception as exc:
                raise KMSError(f"cannot generate KEK in the token: {type(exc).__name__}") from None
        except MultipleObjectsReturned:
            raise KMSError(f"several keys labelled {label!r} in the token") from None
        else:
            # a key found under the label must be as generate_key below makes it: one that can
            # leave the token (extractable, or not sensitive) is not a KEK
            try:
                kept_in = key[Attribute.SENSITIVE] and not key[Attribute.EXTRACTABLE]
            except Exception as exc:
                raise KMSError(
                    f"cannot read KEK {label!r} attributes: {type(exc).__name__}"
                ) from None
            if not kept_in:
                raise KMSError(f"KEK {label!r} in the token is extractable or not sensitive")
        self._keys[version] = key
        return key
