"""What the key service serves: :class:`KeyService`, one key ring, its audit trail, a Vault per
principal, the metrics; and what the Gate and the endpoints share about one request.

A Vault per principal (:meth:`KeyService.vault_for`) over one key ring, which re-reads its store
within 0.25 s of a change made by another process (rotation, retire, destroy, grants): the
service needs no restart and no reload signal. Each Vault's audit hook counts the records a
request made (:class:`_Counter`), so the Gate records the requests the Vault did not.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypedDict, cast

from vaultkit.service import auth
from vaultkit.service._wire import encode_keys
from vaultkit.service.limits import MAX_BYTES, MAX_ITEMS, check_items
from vaultkit.service.metrics import Metrics
from vaultkit.service.models import KeysResponse

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import Scope

    from vaultkit._facade.audit import AuditEvent, AuditHook
    from vaultkit.audit import Trail
    from vaultkit.keys import KeyRing
    from vaultkit.vault import Vault

__all__ = ["STATE", "KeyService", "RequestState"]

STATE = "vaultkit"  # scope key of the per-request state the Gate and the handlers share


class _State(TypedDict):
    operation: str | None
    audited: int  # the audit records the Vault made for it
    items: int
    key: str | None


class RequestState(_State, total=False):
    """What the Gate and the handlers share about one request (``scope[STATE]``)."""

    principal: str | None  # once authenticated (None: refused with 401)


class _Counter:
    """The audit hook given to every Vault: the trail (under the Vault's principal), counting
    the records each request made so :class:`Gate` records the requests the Vault did not."""

    def __init__(self, hook: AuditHook, local: threading.local) -> None:
        self._hook = hook
        self._local = local

    def __call__(self, event: AuditEvent) -> None:
        state = getattr(self._local, "state", None)
        self._hook(event)
        if state is not None:
            state["audited"] += 1


class KeyService:
    """What the app serves: one key ring, its trail, a Vault per principal, the metrics."""

    def __init__(
        self,
        ring: KeyRing,
        *,
        trail: Trail | None = None,
        max_items: int = MAX_ITEMS,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.ring = ring
        self.trail = trail
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.metrics = Metrics()
        self._vaults: dict[str, Vault] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    # -- the seams onto the access model (docs/access.md) ------------------------------------
    def vault_for(self, principal: str) -> Vault:
        """The Vault that calls as ``principal`` (made once, cached: it holds the DEK cache).

        Over a ring with grants it checks every call against the principal's grants and rate
        limits and records refusals; the trail records every call under the principal."""
        vault = self._vaults.get(principal)
        if vault is not None:
            return vault
        from vaultkit.vault import Vault

        with self._lock:
            vault = self._vaults.get(principal)
            if vault is None:
                hook: AuditHook = (
                    (lambda event: None)
                    if self.trail is None
                    else self.trail.hook(principal=principal)
                )
                vault = Vault(self.ring, principal=principal, audit=_Counter(hook, self._local))
                self._vaults[principal] = vault
        return vault

    def principal_for_token(self, token: str) -> str | None:
        """The principal a bearer token was issued to (the ring keeps only token hashes)."""
        return self.ring.principal_for_token(token)

    # -- per request -----------------------------------------------------------------------------
    def authenticate(self, scope: Scope) -> tuple[str | None, str]:
        """``(principal, reason)``: the principal, or None and why the request is refused."""
        cn = scope.get("extensions", {}).get(auth.PEER_CN)
        token = auth.bearer_token(scope)
        by_token = self.principal_for_token(token) if token is not None else None
        if token is not None and by_token is None:
            return None, "unknown or revoked bearer token"
        if cn is not None and by_token is not None and cn != by_token:
            return None, "the bearer token and the client certificate name different principals"
        principal = by_token or cn
        if principal is None:
            return None, "authenticate with a bearer token or a client certificate"
        return principal, ""

    @contextmanager
    def calling(self, request: Request, key: str | None, items: int) -> Iterator[Vault]:
        """The caller's Vault for one operation on ``key`` over ``items`` values (in the
        worker thread that runs it: the records it makes are counted for this request)."""
        state: RequestState = request.scope[STATE]
        state["key"], state["items"] = key, items
        check_items(items, self.max_items)
        self._local.state = state
        try:
            # an operation runs only once the Gate authenticated its principal
            yield self.vault_for(cast(str, state["principal"]))
        finally:
            self._local.state = None

    def record(self, state: RequestState, status: int) -> None:
        """Record a request the Vault did not (refused before it, or not a Vault operation)."""
        operation = state.get("operation")
        if self.trail is None or operation is None:
            return
        outcome = "ok" if status < 400 else "denied" if status in (401, 403, 429) else "error"
        self.trail.append(
            operation=operation,
            key=state.get("key"),
            version=None,
            count=int(state.get("items") or 0),
            context=(),
            outcome=outcome,
            principal=state.get("principal"),
        )

    def keys(self) -> KeysResponse:
        """Every key's metadata (``GET /v1/keys``; never material)."""
        return KeysResponse.model_validate({"keys": encode_keys(self.ring.keys())})
