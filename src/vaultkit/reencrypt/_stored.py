"""What a stored database value is: NULL, plaintext, or a vaultkit ciphertext (which key, which
version, binary or text form), decided from the envelope header without decrypting."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from vaultkit import envelope
from vaultkit.errors import VaultkitError

__all__ = ["Form", "Stored", "classify"]


class Form(enum.Enum):
    NULL = "null"
    PLAINTEXT = "plaintext"
    BINARY = "binary"  # envelope binary form (LargeBinary / bytea)
    TEXT = "text"  # envelope text form (text columns)


@dataclass(frozen=True, slots=True)
class Stored:
    form: Form
    key_id: int = 0
    version: int = 0

    @property
    def is_ciphertext(self) -> bool:
        return self.form in (Form.BINARY, Form.TEXT)


_NULL = Stored(Form.NULL)
_PLAIN = Stored(Form.PLAINTEXT)


def classify(value: Any) -> Stored:
    """Classify one stored value. Never decrypts; never raises on odd input (-> plaintext)."""
    if value is None:
        return _NULL
    if isinstance(value, memoryview | bytearray):
        value = bytes(value)
    if isinstance(value, bytes):
        form = Form.BINARY
    elif isinstance(value, str):
        form = Form.TEXT  # if the text form's prefix and encoding check out
    else:
        return _PLAIN
    try:
        header = envelope.inspect(value)
    except VaultkitError:
        return _PLAIN
    return Stored(form, header.key_id, header.version)
