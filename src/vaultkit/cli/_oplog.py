"""Who runs a command, and where it is recorded: ``--principal`` / ``VAULTKIT_PRINCIPAL`` and
``--audit TARGET`` / ``VAULTKIT_AUDIT``.

Commands that build a :class:`~vaultkit.Vault` run under the principal (held to its grants, see
docs/access.md) and record their data operations in the trail; key operations (key create,
rotate, retire, destroy, activate; kek rotate, add, remove; grant, revoke; principal token)
record themselves with the operator principal: ``--principal``, else the OS user.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from vaultkit.keys import KeyRing

__all__ = [
    "ENV_AUDIT",
    "ENV_PRINCIPAL",
    "KeyOperation",
    "access_options",
    "audit_target",
    "operator",
    "principal",
    "recorded",
]

ENV_PRINCIPAL = "VAULTKIT_PRINCIPAL"
ENV_AUDIT = "VAULTKIT_AUDIT"
_PRINCIPAL_META = "vaultkit.principal"
_AUDIT_META = "vaultkit.audit"

F = TypeVar("F", bound=Callable[..., object])


def _remember(key: str) -> Callable[[click.Context, click.Parameter, str | None], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            ctx.meta[key] = value

    return callback


_principal_option = click.option(
    "--principal",
    envvar=ENV_PRINCIPAL,
    default=None,
    expose_value=False,
    callback=_remember(_PRINCIPAL_META),
    help=f"Run as this principal (or ${ENV_PRINCIPAL}): held to its grants in the key ring; "
    "key operations are recorded under it (default: the OS user).",
)
_audit_option = click.option(
    "--audit",
    "audit",
    envvar=ENV_AUDIT,
    default=None,
    expose_value=False,
    callback=_remember(_AUDIT_META),
    help=f"Record into this audit trail (a JSON-lines file or a SQLAlchemy URL; or ${ENV_AUDIT}).",
)


def access_options(f: F) -> F:
    """``--principal`` and ``--audit``, kept in the click context (not passed as arguments)."""
    return _principal_option(_audit_option(f))


def _meta(key: str) -> str | None:
    ctx = click.get_current_context(silent=True)
    value = ctx.meta.get(key) if ctx is not None else None
    return str(value) if value else None


def principal() -> str | None:
    """The principal a Vault runs as: ``--principal`` or ``VAULTKIT_PRINCIPAL``; None."""
    return _meta(_PRINCIPAL_META) or os.environ.get(ENV_PRINCIPAL) or None


def audit_target() -> str | None:
    """The audit trail to record into: ``--audit`` or ``VAULTKIT_AUDIT``; None."""
    return _meta(_AUDIT_META) or os.environ.get(ENV_AUDIT) or None


def operator() -> str:
    """Who runs a key operation: the principal, else the OS user."""
    from vaultkit.access._grant import check_principal
    from vaultkit.errors import VaultkitError

    found = principal()
    if found:
        return found
    try:
        return check_principal(getpass.getuser())
    except (KeyError, OSError, VaultkitError):  # no passwd entry (containers), an odd name
        return f"uid:{os.getuid()}"


class KeyOperation:
    """What a recorded key operation touched (set ``key``/``version`` once known)."""

    __slots__ = ("key", "version")

    def __init__(self, key: str | None, version: int | None) -> None:
        self.key, self.version = key, version


@contextmanager
def recorded(
    ring: KeyRing, operation: str, key: str | None = None, version: int | None = None
) -> Iterator[KeyOperation]:
    """Run a key operation on ``ring``; with an audit target, record it (outcome ``ok`` or
    ``error``) under the operator principal. The trail is opened first: an unusable trail
    refuses the operation before anything changes (fail closed)."""
    target = audit_target()
    op = KeyOperation(key, version)
    if target is None:
        yield op
        return
    from vaultkit.audit import Trail

    with Trail.open(target, ring) as trail:
        who = operator()
        try:
            yield op
        except Exception:
            trail.record_key_operation(
                operation, op.key, op.version, principal=who, outcome="error"
            )
            raise
        trail.record_key_operation(operation, op.key, op.version, principal=who)
