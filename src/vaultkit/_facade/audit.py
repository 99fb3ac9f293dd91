"""The audit events a :class:`~vaultkit.Vault` emits: never plaintext, ciphertext, context values
or key material; the key, the context's keys, how many fields, the principal and the outcome
(``ok``, ``denied`` by the principal's grants, or ``error``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from vaultkit.keys import DataKey

__all__ = ["AuditEvent", "AuditHook", "emit", "emit_name"]


@dataclass(frozen=True)
class AuditEvent:
    """What the audit hook receives: never plaintext, ciphertext, context values or keys."""

    # "encrypt", "decrypt", "tokenize", "detokenize", "blind_index", "decrypt_masked",
    # "detokenize_masked"
    operation: str
    key_name: str | None
    key_id: int | None
    version: int | None
    context_keys: tuple[str, ...]
    count: int
    ok: bool
    forced: bool = False
    principal: str | None = None  # the Vault's principal (None: a Vault without one)
    outcome: str = ""  # "ok", "denied" or "error"; "" is "ok" or "error" as ``ok`` says

    def __post_init__(self) -> None:
        if not self.outcome:
            object.__setattr__(self, "outcome", "ok" if self.ok else "error")


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
    principal: str | None = None,
) -> None:
    """One event for ``count`` fields under the key version ``key`` (nothing without a hook)."""
    if hook is not None:
        keys = tuple(sorted(context))
        hook(AuditEvent(op, key.name, key.key_id, key.version, keys, count, ok, forced, principal))


def emit_name(
    hook: AuditHook | None,
    op: str,
    key_name: str,
    version: int | None,
    context: Mapping[str, object],
    count: int,
    *,
    principal: str | None = None,
    outcome: str = "ok",
) -> None:
    """One event for a key named by its name (tokens, blind indexes, refused calls)."""
    if hook is not None:
        keys = tuple(sorted(context))
        ok = outcome == "ok"
        hook(AuditEvent(op, key_name, None, version, keys, count, ok, False, principal, outcome))
