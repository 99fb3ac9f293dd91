"""Field ciphertexts (format v1): self-describing, context-bound, key-committing.

Most code uses :class:`vaultkit.Vault`; this package owns the format (specified byte by byte in
``docs/envelope.md``): :class:`FieldCipher` seals and opens it, :func:`encode_context` is the
context encoding, :func:`inspect` reads a ciphertext's header without a key, and :func:`peek`
and :func:`peek_prefix` do so fast and tolerantly for values that may not be ciphertexts.

Modules: ``_format`` (layout, header, text form of one ciphertext), ``_context`` (context
encoding), ``_textcodec`` (the text form in batches), ``_groups`` (batches by header and key
version), ``_records`` (the batch slicer), ``_field`` (FieldCipher), ``_internal`` (what
``Vault`` uses beyond this package's exports).
"""

from vaultkit.envelope._context import encode_context
from vaultkit.envelope._field import FieldCipher
from vaultkit.envelope._format import Header, inspect, peek, peek_prefix

__all__ = ["FieldCipher", "Header", "encode_context", "inspect", "peek", "peek_prefix"]
