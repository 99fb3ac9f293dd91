"""The :class:`Gate`: pure ASGI middleware in front of the key service's app, before any body is
parsed. It authenticates the caller (:mod:`vaultkit.service.auth`; 401 otherwise), refuses
oversized bodies (413, :mod:`vaultkit.service.limits`), counts the request in
:mod:`vaultkit.service.metrics`, and records in the audit trail every request that the Vault
itself did not record (401, 400, 413, a metadata call), so the trail holds one record or more per
request; if that record cannot be written the answer is the audit error (fail closed).
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from vaultkit.errors import VaultkitError
from vaultkit.service._errors import error_response, status_of
from vaultkit.service._operations import STATE, KeyService, RequestState

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Gate"]

_OPERATION = re.compile(r"/v1/([a-z-]+)(/batch)?")
_PUBLIC = frozenset({"/healthz", "/metrics", "/openapi.json"})
_log = logging.getLogger("vaultkit.service")


class Gate:
    """Pure ASGI middleware in front of the app: authentication (401), body limit (413),
    metrics, and the audit record of every request the Vault did not record."""

    def __init__(self, app: ASGIApp, service: KeyService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _PUBLIC:
            await self.app(scope, receive, send)
            return
        match = _OPERATION.fullmatch(scope["path"])
        operation = None
        if match and match[1] != "echo":
            operation = match[1].replace("-", "_")
        svc = self.service
        svc.metrics.started()
        start = time.perf_counter()
        state: RequestState = {"operation": operation, "audited": 0, "items": 0, "key": None}
        scope[STATE] = state
        status = 500
        replaced = False
        started = {"response": False}

        async def send_recorded(message: Message) -> None:
            nonlocal status, replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                started["response"] = True
                status = message["status"]
                if not state["audited"]:
                    try:
                        await run_in_threadpool(svc.record, state, status)
                    except VaultkitError as exc:  # fail closed: the answer is the audit error
                        replaced = True
                        status = status_of(exc)
                        await error_response(status, type(exc).__name__, str(exc))(
                            scope, receive, send
                        )
                        return
            await send(message)

        try:
            principal, reason = svc.authenticate(scope)
            state["principal"] = principal
            if principal is None:
                response = error_response(401, "AccessDeniedError", f"access denied: {reason}")
                await response(scope, receive, send_recorded)
                return
            body = await self._body(scope, receive)
            if body is None:
                rule = f"a request body is at most {svc.max_bytes} bytes; split the batch"
                await error_response(413, "InputFormatError", rule, rule=rule)(
                    scope, receive, send_recorded
                )
                return
            try:
                await self.app(scope, _replay(body), send_recorded)
            except Exception as exc:
                # Starlette re-raises after its 500 answer (the `internal` handler); stop it here
                # so no server log prints the exception's message (it may quote a value)
                _log.error("internal error in %s: %s", operation, type(exc).__name__)
                if status == 500 and not started["response"]:
                    await error_response(500, "VaultkitError", "internal error")(
                        scope, receive, send
                    )
        finally:
            name = operation or "echo"
            svc.metrics.finished(
                principal=state.get("principal") or "",
                operation=name if not (match and match[2]) else f"{name}_batch",
                status=status,
                items=int(state.get("items") or 0),
                seconds=time.perf_counter() - start,
            )

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole request body, or None past the limit (refused before reading it when the
        Content-Length says so)."""
        limit = self.service.max_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
