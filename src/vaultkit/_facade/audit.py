"""The audit events a :class:`~vaultkit.Vault` emits: never plaintext, ciphertext, context values
or key material; the key, the context's keys, how many fields and whether the call succeeded."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from vaultkit.keys import DataKey

__all__ = ["AuditEvent", "AuditHook", "emit", "emit_name"]


@dataclass(frozen=True)
class AuditEvent:
    """What the audit hook receives: never plaintext, ciphertext, context values or keys."""

    operation: str  # "encrypt", "decrypt", "tokenize", "detokenize", "blind_index"
    key_name: str | None
    key_id: int | None
    version: int | None
    context_keys: tuple[str, ...]
    count: int
    ok: bool
    forced: bool = False


AuditHook = Callable[[AuditEvent], None]


def emit(
    hook: AuditHook | None,
    op: str,
    key: DataKey,
    context: Mapping[str, object],
    count: int,
    *,
    ok: bool = True,
    forced: bool = False,
) -> None:
    """One event for ``count`` fields under the key version ``key`` (nothing without a hook)."""
    if hook is not None:
        keys = tuple(sorted(context))
        hook(AuditEvent(op, key.name, key.key_id, key.version, keys, count, ok, forced))


def emit_name(
    hook: AuditHook | None,
    op: str,
    key_name: str,
    version: int | None,
    context: Mapping[str, object],
    count: int,
) -> None:
    """One successful event for a key named by its name (tokens and blind indexes)."""
    if hook is not None:
        hook(AuditEvent(op, key_name, None, version, tuple(sorted(context)), count, True))
