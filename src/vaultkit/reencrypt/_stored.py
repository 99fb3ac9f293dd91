"""What a stored database value is: NULL, plaintext, or a vaultkit ciphertext (which key, which
version, binary or text form), decided from the envelope header without decrypting.

Classification runs on every value of a column several times per re-encryption (survey, passes,
verification), so it reads only the fixed part of the header (docs/envelope.md, format v1:
byte 0 format version 0x01, byte 1 algorithm wire id, bytes 2-5 key id, bytes 6-9 key version,
big-endian) and, for the text form ``vk1.<base64url>``, decodes only the characters that cover
it. ``tests/reencrypt/test_stored.py`` checks it agrees with :func:`vaultkit.envelope.inspect`.
Nothing here is authenticated: decryption is what proves a value genuine.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from dataclasses import dataclass
from typing import Any

from vaultkit.envelope import _format

__all__ = ["Form", "Stored", "classify", "classify_token"]


class Form(enum.Enum):
    NULL = "null"
    PLAINTEXT = "plaintext"
    BINARY = "binary"  # envelope binary form (LargeBinary / bytea)
    TEXT = "text"  # envelope text form (text columns)
    TOKEN = "token"  # noqa: S105 - "<key version>:<token>" (ext.sqlalchemy Tokenized)


@dataclass(frozen=True, slots=True)
class Stored:
    form: Form
    key_id: int = 0
    version: int = 0

    @property
    def is_ciphertext(self) -> bool:
        return self.form in (Form.BINARY, Form.TEXT)

    @property
    def is_protected(self) -> bool:
        return self.form in (Form.BINARY, Form.TEXT, Form.TOKEN)


_NULL = Stored(Form.NULL)
_PLAIN = Stored(Form.PLAINTEXT)
_PREFIX = _format.TEXT_PREFIX
_AEAD_WIRE_IDS = frozenset(a.wire_id for a in _format.AEAD_ALGORITHMS)
_FIXED = _format.FIXED_LEN  # 10 bytes: version, algorithm, key id, key version
_TEXT_HEAD = 16  # base64 characters covering the first 12 bytes (>= the fixed header)
# the text form of the shortest ciphertext (MIN_LEN bytes, unpadded base64)
_MIN_TEXT = len(_PREFIX) + (4 * _format.MIN_LEN + 2) // 3


def _fixed(head: bytes, total: int, form: Form) -> Stored:
    if (
        total < _format.MIN_LEN
        or head[0] != _format.FORMAT_VERSION
        or head[1] not in _AEAD_WIRE_IDS
    ):
        return _PLAIN
    return Stored(form, int.from_bytes(head[2:6], "big"), int.from_bytes(head[6:10], "big"))


# Values written by one process under one key version share their first bytes (the fixed header
# and the salt), so classifying by prefix hits this small cache almost every time.
_CACHE: dict[object, Stored] = {}
_CACHE_MAX = 4096


def _remember(key: object, s: Stored) -> Stored:
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = s
    return s


def classify(value: Any) -> Stored:
    """Classify one stored value. Never decrypts; never raises on odd input (-> plaintext)."""
    if value is None:
        return _NULL
    if isinstance(value, str):
        if len(value) < _MIN_TEXT or not value.startswith(_PREFIX):
            return _PLAIN
        key: object = value[: len(_PREFIX) + _TEXT_HEAD]
        found = _CACHE.get(key)
        if found is not None:
            return found
        try:
            head = base64.urlsafe_b64decode(value[len(_PREFIX) : len(_PREFIX) + _TEXT_HEAD])
        except (binascii.Error, ValueError):
            return _PLAIN
        return _remember(key, _fixed(head, _format.MIN_LEN, Form.TEXT))
    if isinstance(value, bytes | bytearray | memoryview):
        if len(value) < _format.MIN_LEN:
            return _PLAIN
        key = bytes(value[:_FIXED])
        found = _CACHE.get(key)
        if found is not None:
            return found
        return _remember(key, _fixed(key, len(value), Form.BINARY))
    return _PLAIN


_TOKEN = re.compile(r"([0-9]{1,9}):(?=.)")


def classify_token(value: Any) -> Stored:
    """Classify a value of a token column: ``"<version>:<token>"`` (the stored form of
    ``vaultkit.ext.sqlalchemy.Tokenized``), NULL, or plaintext."""
    if value is None:
        return _NULL
    if isinstance(value, str):
        m = _TOKEN.match(value)
        if m is not None:
            return Stored(Form.TOKEN, 0, int(m.group(1)))
    return _PLAIN
