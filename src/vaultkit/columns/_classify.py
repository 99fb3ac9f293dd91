"""The classifier: what a stored column value is: NULL, plaintext, or a vaultkit ciphertext
(which key, which version, binary or text form), decided from the envelope header without
decrypting; or, in a token column, a stored token (which version).

Classification runs on every value of a column several times per re-encryption (survey, passes,
verification), so it uses :func:`vaultkit.envelope.peek`, which reads only the fixed part of the
header (and, for the text form, decodes only the characters that cover it), and caches by
:func:`vaultkit.envelope.peek_prefix`. ``tests/reencrypt/test_stored.py`` checks it agrees with
:func:`vaultkit.envelope.inspect`. Nothing here is authenticated: decryption is what proves a
value genuine.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from vaultkit.columns._token import token_version
from vaultkit.envelope import peek, peek_prefix

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


def classify(value: object) -> Stored:
    """Classify one stored value. Never decrypts; never raises on odd input (-> plaintext)."""
    if value is None:
        return _NULL
    ref = peek(value)
    if ref is None:
        return _PLAIN
    return Stored(Form.TEXT if isinstance(value, str) else Form.BINARY, *ref)


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

    def __call__(self, value: object) -> Stored:
        key = peek_prefix(value)
        if key is None:
            return _NULL if value is None else _PLAIN
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= self._limit:
                self._cache.clear()
            found = self._cache[key] = classify(value)
        return found


def classify_token(value: object) -> Stored:
    """Classify a value of a token column: ``"<version>:<token>"`` (:mod:`._token`, the stored
    form of ``vaultkit.ext.sqlalchemy.Tokenized``), NULL, or plaintext."""
    if value is None:
        return _NULL
    version = token_version(value)
    return _PLAIN if version is None else Stored(Form.TOKEN, 0, version)
