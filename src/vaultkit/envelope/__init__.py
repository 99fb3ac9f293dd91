"""Field ciphertexts (format v1): self-describing, context-bound, key-committing.

Most code uses :class:`vaultkit.Vault`; this package holds the format (see ``docs/envelope.md``
and :class:`FieldCipher`) and :func:`inspect`, which reads a ciphertext's header without a key.
"""

from vaultkit.envelope._field import FieldCipher
from vaultkit.envelope._format import Header, encode_context, inspect

__all__ = ["FieldCipher", "Header", "encode_context", "inspect"]
