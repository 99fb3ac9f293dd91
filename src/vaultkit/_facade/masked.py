"""Masked reveal for the Vault (``reveal_masked``): a decrypted value becomes its kind's display
form (:mod:`vaultkit.masking`) inside vaultkit; the plaintext never leaves, not even in an
exception (no error raised here holds it: a failure is None, and the caller raises afresh)."""

from __future__ import annotations

from vaultkit import kinds as _kinds
from vaultkit.masking import mask

__all__ = ["masked_plaintext", "masking_kind"]


def masking_kind(kind: object) -> str:
    """The canonical kind name of ``kind`` (``UnknownKindError`` before anything is decrypted)."""
    return _kinds.lookup(kind, what="mask kind").name  # type: ignore[arg-type]


def masked_plaintext(kind: str, plain: bytes | str) -> str | None:
    """``plain`` masked as ``kind``; None when it is not UTF-8 text."""
    if isinstance(plain, bytes):
        try:
            text = plain.decode("utf-8")
        except UnicodeDecodeError:
            return None  # the error's ``object`` is the plaintext: dropped here
    else:
        text = plain
    try:
        return mask(kind, text)
    except Exception:  # masking never raises on content; whatever it raised may hold the value
        return None
