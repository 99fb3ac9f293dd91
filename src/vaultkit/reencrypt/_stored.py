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

__all__ = ["Classifier", "Form", "Stored", "classify", "classify_token"]


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


def classify(value: Any) -> Stored:
    """Classify one stored value. Never decrypts; never raises on odd input (-> plaintext)."""
    if value is None:
        return _NULL
    if isinstance(value, str):
        if len(value) < _MIN_TEXT or not value.startswith(_PREFIX):
            return _PLAIN
        try:
            head = base64.urlsafe_b64decode(value[len(_PREFIX) : len(_PREFIX) + _TEXT_HEAD])
        except (binascii.Error, ValueError):
            return _PLAIN
        return _fixed(head, _format.MIN_LEN, Form.TEXT)
    if isinstance(value, bytes | bytearray | memoryview):
        if len(value) < _format.MIN_LEN:
            return _PLAIN
        return _fixed(bytes(value[:_FIXED]), len(value), Form.BINARY)
    return _PLAIN


class Classifier:
    """:func:`classify` with a small cache keyed by the value's prefix.

    Values written by one process under one key version share their first bytes (the fixed
    header and the salt), so a column is classified almost entirely from the cache. One per
    re-encryption job or scan (not shared between threads).
    """

    __slots__ = ("_cache", "_limit")

    def __init__(self, *, limit: int = 4096) -> None:
        self._cache: dict[object, Stored] = {}
        self._limit = limit

    def __call__(self, value: Any) -> Stored:
        if isinstance(value, str):
            if len(value) < _MIN_TEXT or not value.startswith(_PREFIX):
                return _PLAIN
            key: object = value[: len(_PREFIX) + _TEXT_HEAD]
        elif isinstance(value, bytes | bytearray | memoryview) and len(value) >= _format.MIN_LEN:
            key = bytes(value[:_FIXED])
        else:
            return classify(value)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= self._limit:
                self._cache.clear()
            found = self._cache[key] = classify(value)
        return found


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
