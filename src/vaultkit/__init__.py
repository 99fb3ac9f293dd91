"""vaultkit: field-level encryption and tokenization of personal financial information."""

from vaultkit.errors import (
    DecryptionError,
    DomainTooSmallError,
    InputFormatError,
    KeyNotFoundError,
    UnsupportedAlgorithmError,
    VaultkitError,
)
from vaultkit.vault import AuditEvent, Vault

__version__ = "0.1.0"

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
