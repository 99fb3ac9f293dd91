"""vaultkit's exceptions: one root, specific subclasses.

Misuse errors also subclass the matching builtin (``ValueError``, ``TypeError``, ``LookupError``)
so callers that catch those keep working. No exception ever carries plaintext or key material:
input errors name the rule that failed and show the value only masked (see :func:`masked`),
and :class:`DecryptionError` is deliberately opaque.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "AccessDeniedError",
    "AuditError",
    "DecryptionError",
    "DomainTooSmallError",
    "InputFormatError",
    "InvalidKeyError",
    "KMSError",
    "KeyNotFoundError",
    "KeyStateError",
    "KeyStoreError",
    "PolicyError",
    "RateLimitedError",
    "SignatureError",
    "StreamModifiedError",
    "StreamTruncatedError",
    "UnknownKindError",
    "UnsupportedAlgorithmError",
    "VaultkitError",
    "VaultkitTypeError",
    "masked",
]


_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")


def masked(value: object) -> str:
    """A display form of a rejected value that reveals at most a quarter of its characters.

    Used by every error that refers to an input value. Bytes are never shown.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    text = str(value)
    n = len(text)
    keep = 2 if n >= 16 else 1 if n >= 8 else 0
    if keep == 0:
        return "*" * n
    return text[:keep] + "*" * (n - 2 * keep) + text[-keep:]


class VaultkitError(Exception):
    """Root of every exception vaultkit raises on purpose."""


class VaultkitTypeError(VaultkitError, TypeError):
    """An argument of the wrong type."""


class DecryptionError(VaultkitError):
    """A ciphertext, token or stream did not authenticate or decrypt.

    Deliberately opaque: it never says which check failed (tag, key, context, format), so it
    cannot serve as an oracle. ``where`` may name the location (for example table, column and
    primary key) but never the value.
    """

    def __init__(self, where: str | None = None) -> None:
        self.where = where
        super().__init__("decryption failed" + (f" ({where})" if where else ""))


class StreamTruncatedError(DecryptionError):
    """A stream ends early: inside its header, or before its final chunk (for example cut at a
    chunk boundary). Says nothing else about the stream."""

    def __init__(self) -> None:
        super().__init__()
        self.args = ("decryption failed: the stream is truncated (it ends before its final chunk)",)


class StreamModifiedError(DecryptionError):
    """A stream's chunks do not authenticate (changed, reordered, cut inside a chunk, or data
    appended). Says nothing else, in particular not which chunk."""

    def __init__(self) -> None:
        super().__init__()
        self.args = ("decryption failed: the stream was modified (it does not authenticate)",)


class SignatureError(VaultkitError):
    """A signature required by the reader is missing, made by a key that is not trusted, or
    does not verify."""


class InputFormatError(VaultkitError, ValueError):
    """An input value broke a rule of its format. ``rule`` names the rule; the value is masked."""

    def __init__(self, rule: str, value: object = None, *, kind: str | None = None) -> None:
        self.rule = rule
        self.kind = kind
        self.masked_value = None if value is None else masked(value)
        prefix = f"{kind}: " if kind else ""
        shown = f" (value {self.masked_value})" if self.masked_value is not None else ""
        super().__init__(f"{prefix}{rule}{shown}")


class DomainTooSmallError(VaultkitError, ValueError):
    """A format-preserving domain is below SP 800-38G Rev. 1's minimum radix^len >= 1,000,000."""


class UnsupportedAlgorithmError(VaultkitError, ValueError):
    """An algorithm, mode, backend or parameter that vaultkit does not offer."""


class UnknownKindError(UnsupportedAlgorithmError):
    """A kind, mask kind or token format name that vaultkit does not know.

    ``what`` says which vocabulary was searched (``"kind"``, ``"token format"``, ...),
    ``suggestions`` holds the closest known names ("did you mean") and ``choices`` every name
    accepted there. The unknown name is shown as typed only when it is close to a known name
    or ``known`` (a name of another vocabulary); otherwise masked, as it may be a value passed
    by mistake.
    """

    def __init__(
        self,
        what: str,
        name: object,
        choices: Sequence[str],
        suggestions: Sequence[str] = (),
        *,
        known: bool = False,
    ) -> None:
        self.what = what
        self.choices = tuple(choices)
        self.suggestions = tuple(suggestions)
        text = str(name)
        # shown as typed only when it is a name of another vocabulary (``known``) or close to a
        # known name (a typo); anything else may be a value passed by mistake (a card number, a
        # customer's name) and is shown masked
        named = (known or bool(suggestions)) and _NAME.fullmatch(text) is not None
        shown = repr(text) if named else masked(text)
        hint = f"; did you mean {' or '.join(map(repr, suggestions))}?" if suggestions else ""
        super().__init__(f"unknown {what} {shown}{hint} (expected one of {', '.join(choices)})")


class InvalidKeyError(VaultkitError, ValueError):
    """Key material of the wrong size or form (the material itself is never shown)."""


class KeyNotFoundError(VaultkitError, LookupError):
    """No key (or key version) of that name in the key ring."""


class KeyStateError(VaultkitError):
    """A key version's state forbids the operation (retired without force, destroyed, ...)."""


class KeyStoreError(VaultkitError):
    """The key store cannot be used: tampered, truncated, wrong passphrase, locked, ..."""


class KMSError(VaultkitError):
    """A KMS backend failed to wrap or unwrap (HSM error, missing KEK, ...)."""


class PolicyError(VaultkitError, ValueError):
    """The sensitivity policy forbids the operation (e.g. encrypting C3 authentication data)."""


class AuditError(VaultkitError):
    """An audit record could not be written (read-only or full disk, database down, lock
    failure): the audited operation is refused and returns nothing (fail closed)."""


class AccessDeniedError(VaultkitError, PermissionError):
    """The principal has no grant for the operation on the key (or the grant expired).

    ``principal``, ``operation`` and ``key`` name the refused call; never a value. Recorded in
    the audit trail with outcome ``denied``.
    """

    def __init__(
        self, principal: str | None, operation: str, key: str | None, reason: str | None = None
    ) -> None:
        self.principal = principal
        self.operation = operation
        self.key = key
        who = "a Vault without a principal" if principal is None else f"principal {principal!r}"
        what = f"{operation} on key {key!r}" if key is not None else operation
        why = f": {reason}" if reason else ""
        super().__init__(f"access denied: {who} may not {what}{why}")


class RateLimitedError(AccessDeniedError):
    """The principal's grant allows the operation, but not this many items this minute
    (``max_per_minute``, counted per process)."""

    def __init__(self, principal: str, operation: str, key: str, max_per_minute: int) -> None:
        self.max_per_minute = max_per_minute
        super().__init__(
            principal,
            operation,
            key,
            f"rate limit of {max_per_minute} items per minute exceeded",
        )
