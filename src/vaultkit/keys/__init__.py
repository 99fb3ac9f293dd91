"""Key management: data keys, the key ring and KMS backends."""

from vaultkit.keys._anchor import Anchor, PKCS11Anchor
from vaultkit.keys._db_anchor import DatabaseAnchor
from vaultkit.keys._kms import KMS, WrappedKey
from vaultkit.keys._local import LocalKMS
from vaultkit.keys._model import Algorithm, DataKey, KeyProvider, KeyState
from vaultkit.keys._pkcs11 import PKCS11KMS
from vaultkit.keys._ring import KekInfo, KeyInfo, KeyRing, VersionInfo
from vaultkit.keys._sm2_recipients import SM2Recipients

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
