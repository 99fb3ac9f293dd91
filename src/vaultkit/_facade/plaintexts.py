"""Plaintexts between ``str`` and ``bytes`` for the Vault, never leaking one into an exception.

``UnicodeEncodeError.object`` and ``UnicodeDecodeError.object`` hold the whole string or bytes:
the errors raised here are raised outside the handler, so not even their ``__context__`` holds a
plaintext (docs/architecture.md, "Errors").
"""

from __future__ import annotations

from vaultkit.errors import InputFormatError, VaultkitTypeError

__all__ = ["as_bytes", "as_text", "as_texts"]


def as_bytes(value: bytes | str) -> bytes:
    """A plaintext as bytes: str as UTF-8, bytes-like copied."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            pass  # raised below, outside this handler: UnicodeEncodeError holds the plaintext
        raise InputFormatError("a str plaintext must be valid Unicode (no lone surrogate)")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise VaultkitTypeError("a plaintext is bytes or str")


def as_text(value: bytes) -> str:
    """A decrypted plaintext as UTF-8 text."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        pass  # raised below, outside this handler: UnicodeDecodeError.object is the plaintext
    raise InputFormatError("the plaintext is not UTF-8 text; use decrypt()")


def as_texts(values: list[bytes]) -> list[str]:
    """Decrypted plaintexts as UTF-8 text."""
    try:
        return list(map(bytes.decode, values))  # UTF-8, strict
    except UnicodeDecodeError:
        pass  # as in as_text: the handler's exception holds a whole plaintext
    raise InputFormatError("the plaintext is not UTF-8 text; use decrypt()")
