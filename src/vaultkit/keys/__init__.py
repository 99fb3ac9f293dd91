"""Key management: data keys, the key ring and KMS backends.

The names are imported on first use (PEP 562), each from its own module: ``from vaultkit.keys
import LocalKMS`` loads the passphrase KMS without the key ring, SM2, PKCS#11 or cipher code, so
a command that opens a passphrase key ring runs its KDF (scrypt: ``128 * N * r`` bytes while it
runs) before the ciphers are resident (docs/stream.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaultkit.keys import sm2 as sm2  # the public submodule
    from vaultkit.keys._anchor import Anchor, PKCS11Anchor
    from vaultkit.keys._db_anchor import DatabaseAnchor
    from vaultkit.keys._kms import KMS, WrappedKey
    from vaultkit.keys._local import LocalKMS
    from vaultkit.keys._model import Algorithm, DataKey, KeyProvider, KeyState
    from vaultkit.keys._pkcs11 import PKCS11KMS
    from vaultkit.keys._ring import KekInfo, KeyInfo, KeyRing, VersionInfo
    from vaultkit.keys._sm2_recipients import SM2Recipients

# each public name -> the module that defines it
_OWNERS = {
    "Anchor": "_anchor",
    "PKCS11Anchor": "_anchor",
    "DatabaseAnchor": "_db_anchor",
    "KMS": "_kms",
    "WrappedKey": "_kms",
    "LocalKMS": "_local",
    "Algorithm": "_model",
    "DataKey": "_model",
    "KeyProvider": "_model",
    "KeyState": "_model",
    "PKCS11KMS": "_pkcs11",
    "KekInfo": "_ring",
    "KeyInfo": "_ring",
    "KeyRing": "_ring",
    "VersionInfo": "_ring",
    "SM2Recipients": "_sm2_recipients",
}


def __getattr__(name: str) -> object:
    if name in _OWNERS:
        value: object = getattr(importlib.import_module(f"vaultkit.keys.{_OWNERS[name]}"), name)
    elif name == "sm2":  # the public submodule, as ``vaultkit.keys.sm2``
        value = importlib.import_module("vaultkit.keys.sm2")
    else:
        raise AttributeError(f"module 'vaultkit.keys' has no attribute {name!r}")
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_OWNERS})


__all__ = [
    "KMS",
    "PKCS11KMS",
    "Algorithm",
    "Anchor",
    "DataKey",
    "DatabaseAnchor",
    "KekInfo",
    "KeyInfo",
    "KeyProvider",
    "KeyRing",
    "KeyState",
    "LocalKMS",
    "PKCS11Anchor",
    "SM2Recipients",
    "VersionInfo",
    "WrappedKey",
]
