"""Field ciphertexts (format v1): self-describing, context-bound, key-committing.

Most code uses :class:`vaultkit.Vault`; this package holds the format (see ``docs/envelope.md``
and :class:`FieldCipher`) and :func:`inspect`, which reads a ciphertext's header without a key;
:func:`peek` and :func:`peek_prefix` do so fast and tolerantly for values that may not be
ciphertexts.
"""

from vaultkit.envelope._field import FieldCipher
from vaultkit.envelope._format import Header, encode_context, inspect, peek, peek_prefix

__all__ = ["FieldCipher", "Header", "encode_context", "inspect", "peek", "peek_prefix"]
