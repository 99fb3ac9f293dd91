"""The envelope's internal API: what vaultkit's facade (:class:`vaultkit.Vault`) uses beyond the
package's public exports. Not for applications: it changes with vaultkit, without notice.

Everything the facade needs to know about the format goes through these names: it never slices
a header or calls a private method of :class:`~vaultkit.envelope.FieldCipher` itself.
"""

from vaultkit.envelope._context import Context, encode_contexts
from vaultkit.envelope._field import open_group
from vaultkit.envelope._format import AEAD_ALGORITHMS, as_binary, key_ids, to_text
from vaultkit.envelope._groups import HeaderGroup, VersionGroup, version_groups
from vaultkit.envelope._textcodec import to_binary_many, to_text_many

__all__ = [
    "AEAD_ALGORITHMS",
    "Context",
    "HeaderGroup",
    "VersionGroup",
    "as_binary",
    "encode_contexts",
    "key_ids",
    "open_group",
    "to_binary_many",
    "to_text",
    "to_text_many",
    "version_groups",
]
