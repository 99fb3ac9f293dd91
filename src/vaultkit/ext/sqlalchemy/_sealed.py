"""Values sealed before their statement runs (the write side owns them).

The ORM flush seals row-bound columns (it knows the row key) as :class:`Sealed`; the batch
INSERT path (``_engine``) seals whole columns as :class:`SealedBytes`/:class:`SealedText`. The
column types only recognise them (:data:`PRESEALED`) and bind :func:`stored_form` as it is.
"""

from __future__ import annotations

__all__ = ["PRESEALED", "Sealed", "SealedBytes", "SealedText", "plaintext_of", "stored_form"]


class Sealed:
    """A value already encrypted (or tokenized) before the statement: by the ORM flush for
    row-bound columns. The column type passes ``stored`` through.

    Holds the plaintext only for the duration of the statement, to fill blind indexes.
    """

    __slots__ = ("plaintext", "stored")

    def __init__(self, stored: bytes | str, plaintext: object) -> None:
        self.stored = stored
        self.plaintext = plaintext

    def __repr__(self) -> str:
        return "Sealed(<ciphertext>)"


class SealedBytes(bytes):
    """A stored form (ciphertext) the batch INSERT path made. Unlike :class:`Sealed` it is not
    tracked by the garbage collector: 10,000 of them per statement cost no collections."""

    __slots__ = ()


class SealedText(str):
    """The text counterpart of :class:`SealedBytes` (text ciphertexts, stored tokens)."""

    __slots__ = ()


PRESEALED = (Sealed, SealedBytes, SealedText)


def stored_form(value: object) -> bytes | str:
    """What to bind for a value a batch path or the ORM flush already sealed."""
    if type(value) is Sealed:
        return value.stored
    return bytes(value) if type(value) is SealedBytes else str(value)  # (SealedText)


def plaintext_of(value: object) -> object:
    """The plaintext a blind index is computed from (a :class:`Sealed` value's own)."""
    return value.plaintext if type(value) is Sealed else value
