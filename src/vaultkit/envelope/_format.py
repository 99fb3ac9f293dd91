"""Field ciphertext format v1: the layout and its header, and the text form of one ciphertext.

The format is specified byte by byte in ``docs/envelope.md`` (the one description of it); the
names below are its offsets and labels. Batches of text forms are ``_textcodec``'s, context
encoding ``_context``'s, batch grouping by header ``_groups``'.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import NamedTuple

from vaultkit.errors import DecryptionError, VaultkitTypeError
from vaultkit.keys import Algorithm

__all__ = [
    "AEAD_ALGORITHMS",
    "BINDING_LEN",
    "COMMIT_LABEL",
    "ENC_LABEL",
    "FIXED_LEN",
    "FORMAT_VERSION",
    "HEADER_LEN",
    "MIN_LEN",
    "NONCE_LEN",
    "SALT_LEN",
    "TEXT_PREFIX",
    "Header",
    "as_binary",
    "fixed_header",
    "from_text",
    "inspect",
    "key_ids",
    "parse_header",
    "peek",
    "peek_prefix",
    "to_text",
]

# offsets and sizes of docs/envelope.md, "Binary form"
FORMAT_VERSION = 1
SALT_LEN = 16
COMMIT_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
FIXED_LEN = 10  # version, algorithm, key id, key version
BINDING_LEN = FIXED_LEN + SALT_LEN  # what subkey and commitment are derived from
HEADER_LEN = BINDING_LEN + COMMIT_LEN
MIN_LEN = HEADER_LEN + NONCE_LEN + TAG_LEN
TEXT_PREFIX = "vk1."
ENC_LABEL = b"vaultkit/v1/enc\x00"
COMMIT_LABEL = b"vaultkit/v1/commit\x00"
AEAD_ALGORITHMS = (Algorithm.SM4_GCM, Algorithm.AES_256_GCM)
_AEAD_BY_WIRE = {a.wire_id: a for a in AEAD_ALGORITHMS}

_FIXED = struct.Struct(">BBII")
_IDS = struct.Struct(">II")  # key id and key version, at offset 2
_AEAD_WIRE_IDS = frozenset(_AEAD_BY_WIRE)


class Header(NamedTuple):
    """What a field ciphertext says about itself (readable without any key)."""

    format_version: int
    algorithm: Algorithm
    key_id: int
    version: int
    salt: bytes


def fixed_header(algorithm: Algorithm, key_id: int, version: int) -> bytes:
    return _FIXED.pack(FORMAT_VERSION, algorithm.wire_id, key_id, version)


def parse_header(data: bytes) -> Header:
    """The header of a binary ciphertext; ``DecryptionError`` when it is not one."""
    if len(data) < MIN_LEN or data[0] != FORMAT_VERSION:
        raise DecryptionError()
    _, wire, key_id, version = _FIXED.unpack_from(data)
    alg = _AEAD_BY_WIRE.get(wire)
    if alg is None:
        raise DecryptionError()
    return Header(FORMAT_VERSION, alg, key_id, version, bytes(data[FIXED_LEN:BINDING_LEN]))


def key_ids(data: bytes, size: int = MIN_LEN) -> tuple[int, int]:
    """``(key id, key version)`` of a binary ciphertext (or, with ``size=HEADER_LEN``, of a
    header): ``DecryptionError`` unless ``data`` has ``size`` bytes or more, format version 1 and
    an AEAD wire id. Not authenticated: only decryption proves a header genuine."""
    if len(data) < size or data[0] != FORMAT_VERSION or data[1] not in _AEAD_WIRE_IDS:
        raise DecryptionError()
    ids: tuple[int, int] = _IDS.unpack_from(data, 2)
    return ids


def to_text(data: bytes) -> str:
    return TEXT_PREFIX + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_text(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith(TEXT_PREFIX):
        raise DecryptionError()
    body = text[len(TEXT_PREFIX) :]
    if len(body) % 4 == 1:
        raise DecryptionError()
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError() from None
    if to_text(data) != text:  # one encoding per ciphertext (no ignored bits or characters)
        raise DecryptionError()
    return data


def as_binary(ciphertext: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(ciphertext, str):
        return from_text(ciphertext)
    if isinstance(ciphertext, bytes | bytearray | memoryview):
        return bytes(ciphertext)
    raise VaultkitTypeError("a ciphertext is bytes (binary form) or str (text form)")


def inspect(ciphertext: bytes | str) -> Header:
    """Format version, algorithm, key id and key version of a ciphertext, without decrypting.

    Accepts the binary or the text form. Nothing here is authenticated until decryption.
    Raises ``DecryptionError`` for something that is not a v1 field ciphertext.
    """
    return parse_header(as_binary(ciphertext))


# peek: the fixed header of the binary form, or the text characters that cover it
_PEEK_TEXT = len(TEXT_PREFIX) + 16  # 16 base64url characters decode to 12 bytes >= FIXED_LEN
_MIN_TEXT = len(TEXT_PREFIX) + (4 * MIN_LEN + 2) // 3  # text form of a MIN_LEN ciphertext


def peek_prefix(value: object) -> bytes | str | None:
    """The part of ``value`` that :func:`peek` reads, or None when ``value`` cannot be a field
    ciphertext (not bytes or str, too short, no ``vk1.`` prefix). Never raises.

    Values with equal prefixes peek the same, so this is a cache key for classifying many
    values: those written by one process under one key version share it.
    """
    if isinstance(value, str):
        if len(value) < _MIN_TEXT or not value.startswith(TEXT_PREFIX):
            return None
        return value[:_PEEK_TEXT]
    if isinstance(value, bytes | bytearray | memoryview) and len(value) >= MIN_LEN:
        return bytes(value[:FIXED_LEN])
    return None


def peek(value: object) -> tuple[int, int] | None:
    """``(key id, key version)`` of a value that looks like a v1 field ciphertext (binary or
    text form), read from the fixed header alone; None for anything else (plaintext, NULL, the
    wrong type). Never raises and never decrypts: a fast, tolerant :func:`inspect` for scanning
    stored values. Nothing here is authenticated; only decryption proves a value genuine.
    """
    head = peek_prefix(value)
    if head is None:
        return None
    if isinstance(head, str):
        try:
            head = base64.urlsafe_b64decode(head[len(TEXT_PREFIX) :])
        except (binascii.Error, ValueError):
            return None
    # non-alphabet characters are dropped by the decoder: the head may come out short
    if len(head) < FIXED_LEN or head[0] != FORMAT_VERSION or head[1] not in _AEAD_WIRE_IDS:
        return None
    return int.from_bytes(head[2:6], "big"), int.from_bytes(head[6:10], "big")
