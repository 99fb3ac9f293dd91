"""FF1 tweaks derived from the caller's context.

``tweak = H("vaultkit/v1/token-tweak" || 0x00 || u32 len(label) || label || encode_context(ctx))``
truncated to 12 bytes, where ``H`` is SM3 for FF1-SM4 keys and SHA-256 for FF1-AES256 keys,
``label`` is the format's label (its name and options, e.g. ``card/6/4/valid``) and
``encode_context`` is the injective, length-prefixed encoding of :mod:`vaultkit.envelope`.
Twelve bytes keep FF1's Q string to one block for every structured format (SP 800-38G 6.2
step 6.i: Q = T || 0^((-t-b-1) mod 16) || [i] || [NUM(B)]^b with b <= 3) and leave tweak
collisions out of reach (2^48 contexts for an even chance).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping

from vaultkit.envelope import encode_context
from vaultkit.hazmat.hashes import sm3
from vaultkit.keys import Algorithm

__all__ = ["TWEAK_LEN", "derive_tweak"]

TWEAK_LEN = 12
_LABEL = b"vaultkit/v1/token-tweak\x00"


def derive_tweak(algorithm: Algorithm, label: str, context: Mapping[str, str | bytes]) -> bytes:
    """The FF1 tweak for ``context`` and the format ``label`` under a key of ``algorithm``."""
    raw = label.encode("utf-8")
    message = _LABEL + struct.pack(">I", len(raw)) + raw + encode_context(context)
    if algorithm is Algorithm.FF1_SM4:
        return sm3(message)[:TWEAK_LEN]
    return hashlib.sha256(message).digest()[:TWEAK_LEN]
