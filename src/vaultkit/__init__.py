"""vaultkit: field-level encryption and tokenization of personal financial information."""

from vaultkit.errors import (
    DecryptionError,
    DomainTooSmallError,
    InputFormatError,
    KeyNotFoundError,
    UnsupportedAlgorithmError,
    VaultkitError,
)

__version__ = "0.1.0"

__all__ = [
    "DecryptionError",
    "DomainTooSmallError",
    "InputFormatError",
    "KeyNotFoundError",
    "UnsupportedAlgorithmError",
    "VaultkitError",
    "__version__",
]
