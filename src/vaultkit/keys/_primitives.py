"""Dispatch from the key layer's algorithm labels to :mod:`vaultkit.hazmat` primitives.

``aead(label, key)``: SM4-GCM (16-byte key) or AES-256-GCM (32-byte key) objects with
``encrypt/decrypt(_many)``; ``mac(name, key, data)``: HMAC-SM3 (GB/T 32905-2016 with RFC 2104)
for ``"SM3"``, HMAC-SHA256 for ``"SHA256"``.
"""

from __future__ import annotations

from typing import Any

from vaultkit.hazmat import aead as _aead
from vaultkit.hazmat import hashes as _hashes

__all__ = ["aead", "mac"]

_AEADS: dict[str, Any] = {"SM4-GCM": _aead.SM4GCM, "AES-256-GCM": _aead.AES256GCM}
_MACS = {"SM3": _hashes.hmac_sm3, "SHA256": _hashes.hmac_sha256}


def aead(label: str, key: bytes) -> Any:
    """An AEAD object for ``"SM4-GCM"`` or ``"AES-256-GCM"``."""
    return _AEADS[label](key)


def mac(name: str, key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 (``"SM3"``) or HMAC-SHA256 (``"SHA256"``) of ``data`` under ``key``."""
    return bytes(_MACS[name](key, data))
