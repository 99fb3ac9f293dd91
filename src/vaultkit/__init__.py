"""vaultkit: field-level encryption and tokenization of personal financial information."""

from typing import TYPE_CHECKING

from vaultkit.errors import (
    DecryptionError,
    DomainTooSmallError,
    InputFormatError,
    KeyNotFoundError,
    UnsupportedAlgorithmError,
    VaultkitError,
)

if TYPE_CHECKING:
    from vaultkit.vault import AuditEvent, Vault

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``Vault`` and ``AuditEvent`` are imported on first use (PEP 562): ``import vaultkit.cli``
    for ``vaultkit --help`` then loads no key ring, envelope or native code."""
    if name in ("AuditEvent", "Vault"):
        from vaultkit import vault

        return getattr(vault, name)
    raise AttributeError(f"module 'vaultkit' has no attribute {name!r}")


__all__ = [
    "AuditEvent",
    "DecryptionError",
    "DomainTooSmallError",
    "InputFormatError",
    "KeyNotFoundError",
    "UnsupportedAlgorithmError",
    "Vault",
    "VaultkitError",
    "__version__",
]
