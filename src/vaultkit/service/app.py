"""The key service's ASGI application: one endpoint per Vault operation, single and batch.

FastAPI on uvicorn (docs/keyservice.md says why): the request bodies are pydantic models
(:mod:`vaultkit.service.models`) that validate every field and generate the OpenAPI schema, so
the schema committed under docs/ is the one the server enforces. FastAPI's own validation answer
(422, echoing the input) is replaced: a body that breaks the schema is a 400 naming the rule
(the field and what it must be) and never a value.

Every request passes :class:`Gate` first (pure ASGI, before any body is parsed): it
authenticates the caller (:mod:`vaultkit.service.auth`; 401 otherwise), refuses oversized bodies
(413, :mod:`vaultkit.service.limits`), counts the request in :mod:`vaultkit.service.metrics`, and
records in the audit trail every request that the Vault itself did not record (401, 400, 413, a
metadata call), so the trail holds one record or more per request. Operations run in worker
threads (the Vault and the trail block; the trail's group commit shares one fsync between the
concurrent calls), with a Vault per principal (:meth:`KeyService.vault_for`) over one key ring,
which re-reads its store within 0.25 s of a change made by another process (rotation, retire,
destroy, grants): the service needs no restart and no reload signal.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypedDict, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from vaultkit import errors
from vaultkit.errors import VaultkitError, masked
from vaultkit.service import auth
from vaultkit.service.limits import MAX_BYTES, MAX_ITEMS, TooManyItems, check_items
from vaultkit.service.metrics import Metrics
from vaultkit.service.models import (
    BlindIndexBatchRequest,
    BlindIndexRequest,
    Bytes,
    CiphertextResponse,
    CiphertextsResponse,
    DecryptBatchRequest,
    DecryptMaskedBatchRequest,
    DecryptMaskedRequest,
    DecryptRequest,
    DetokenizeBatchRequest,
    DetokenizeMaskedBatchRequest,
    DetokenizeMaskedRequest,
    DetokenizeRequest,
    EncryptBatchRequest,
    EncryptRequest,
    ErrorResponse,
    IndexesResponse,
    IndexResponse,
    KeyInfoModel,
    KeysResponse,
    MaskedBatchResponse,
    MaskedResponse,
    PlaintextResponse,
    PlaintextsResponse,
    TokenizeBatchRequest,
    TokenizeRequest,
    TokenResponse,
    TokensResponse,
    ValueResponse,
    ValuesResponse,
    VersionInfoModel,
    decode_b64,
    maybe_context,
    to_context,
)

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from vaultkit._facade.audit import AuditEvent, AuditHook
    from vaultkit.audit import Trail
    from vaultkit.blindindex import Compound
    from vaultkit.keys import KeyRing
    from vaultkit.vault import Vault

__all__ = ["API_VERSION", "Gate", "KeyService", "create_app", "openapi", "status_of"]

API_VERSION = "1"
STATE = "vaultkit"  # scope key of the per-request state the Gate and the handlers share
_log = logging.getLogger("vaultkit.service")


class _State(TypedDict):
    operation: str | None
    audited: int  # the audit records the Vault made for it
    items: int
    key: str | None


class RequestState(_State, total=False):
    """What the Gate and the handlers share about one request (``scope[STATE]``)."""

    principal: str | None  # once authenticated (None: refused with 401)


_OPERATION = re.compile(r"/v1/([a-z-]+)(/batch)?")
_PUBLIC = frozenset({"/healthz", "/metrics", "/openapi.json"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")

# HTTP status of each vaultkit error (the first class in the exception's MRO listed here)
_STATUS: dict[str, int] = {
    "RateLimitedError": 429,
    "AccessDeniedError": 403,
    "DecryptionError": 422,
    "KeyNotFoundError": 404,
    "KeyStateError": 409,
    "AuditError": 503,
    "KMSError": 503,
    "KeyStoreError": 503,
}


def status_of(exc: BaseException) -> int:
    """The HTTP status a vaultkit error is answered with (400 for input errors)."""
    for cls in type(exc).__mro__:
        if cls.__name__ in _STATUS:
            return _STATUS[cls.__name__]
    return 400


def _error(status: int, kind: str, message: str, **extra: str | None) -> JSONResponse:
    body = {"type": kind, "message": message, **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse({"error": body}, status_code=status)


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
        return KeysResponse(
            keys=[
                KeyInfoModel(
                    name=k.name,
                    key_id=k.key_id,
                    algorithm=k.algorithm.label,
                    created=k.created,
                    versions=[
                        VersionInfoModel(version=v.version, state=v.state.value, created=v.created)
                        for v in k.versions
                    ],
                )
                for k in self.ring.keys()
            ]
        )


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
                        await _error(status, type(exc).__name__, str(exc))(scope, receive, send)
                        return
            await send(message)

        try:
            principal, reason = svc.authenticate(scope)
            state["principal"] = principal
            if principal is None:
                response = _error(401, "AccessDeniedError", f"access denied: {reason}")
                await response(scope, receive, send_recorded)
                return
            body = await self._body(scope, receive)
            if body is None:
                rule = f"a request body is at most {svc.max_bytes} bytes; split the batch"
                await _error(413, "InputFormatError", rule, rule=rule)(
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
                    await _error(500, "VaultkitError", "internal error")(scope, receive, send)
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


# -- the rule a schema error names (never the value) ------------------------------------------
def _where(loc: tuple[object, ...]) -> str:
    parts = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            text = str(part)
            shown = text if _NAME.fullmatch(text) else masked(text)
            parts.append(f".{shown}" if parts else shown)
    return "".join(parts)


def _schema_rule(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    loc = tuple(first.get("loc", ()))
    kind = str(first.get("type", "invalid"))
    if kind == "json_invalid":
        return "the body is not valid JSON"
    msg = {
        "missing": "is required",
        "extra_forbidden": "is not a field of this request",
    }.get(kind) or str(first.get("msg", "is invalid")).replace("Input should", "should")
    return f"{_where(loc)} {msg}"


def _plain(text: str, encoding: str, what: str = "plaintext") -> str | bytes:
    return text if encoding == "utf-8" else decode_b64(text, what)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _kind(kind: str | list[str] | None) -> str | Compound | None:
    if isinstance(kind, list):
        from vaultkit.blindindex import Compound

        return Compound(tuple(kind))
    return kind


def _index_value(value: str | Bytes | list[str | int]) -> object:
    if isinstance(value, list):
        return tuple(value)
    return value if isinstance(value, str) else decode_b64(value.base64, "an index value")


_ERRORS: dict[int | str, dict[str, object]] = {
    s: {"model": ErrorResponse, "description": d}
    for s, d in (
        (400, "The body breaks the schema or an input rule (named, never the value)"),
        (401, "No valid bearer token or client certificate"),
        (403, "The principal has no grant for this operation on this key"),
        (404, "No such key"),
        (409, "The key version's state forbids the operation"),
        (413, "Batch over 10,000 items or body over 8 MiB"),
        (422, "Decryption failed (opaque)"),
        (429, "The principal's rate limit is exceeded"),
        (503, "The audit trail or the KMS cannot be written or reached"),
    )
}


def create_app(service: KeyService, *, echo: bool = False) -> ASGIApp:
    """The ASGI app serving ``service`` (wrapped in :class:`Gate`). ``echo`` adds
    ``POST /v1/echo``, which returns its body through the same stack without a Vault (the
    benchmarks' baseline)."""
    return Gate(_fastapi(service, echo=echo), service)


def openapi() -> dict[str, object]:
    """The OpenAPI schema the service serves at ``/openapi.json`` (committed as
    docs/keyservice-openapi.json; ``python -m vaultkit.service.schema`` prints it)."""
    return _fastapi(cast("KeyService", None), echo=False).openapi()


def _fastapi(service: KeyService, *, echo: bool) -> FastAPI:
    from vaultkit import __version__

    app = FastAPI(
        title="vaultkit key service",
        version=__version__,
        description="Field-level encryption, format-preserving tokens and blind indexes behind "
        "an authenticated, audited boundary (docs/keyservice.md).",
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(RequestValidationError)
    async def schema_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        rule = _schema_rule(exc)
        return _error(400, "RequestError", f"invalid request: {rule}", rule=rule)

    @app.exception_handler(TooManyItems)
    async def too_many(request: Request, exc: TooManyItems) -> JSONResponse:
        return _error(413, "InputFormatError", exc.rule, rule=exc.rule)

    @app.exception_handler(VaultkitError)
    async def vaultkit_error(request: Request, exc: VaultkitError) -> JSONResponse:
        return _error(
            status_of(exc),
            type(exc).__name__,
            str(exc),
            rule=getattr(exc, "rule", None),
            where=getattr(exc, "where", None),
        )

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        # nothing of the exception is shown: its message or arguments may hold a value
        return _error(500, "VaultkitError", f"internal error ({type(exc).__name__})")

    svc = service

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """200 while the key ring can be read (its store is re-read if it changed)."""
        svc.ring.keys()
        return {"status": "ok"}

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        """Prometheus text format: requests, items, denials, latency histograms."""
        return PlainTextResponse(
            svc.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    @app.get("/v1/keys", tags=["keys"], responses=_ERRORS)
    def keys(request: Request) -> KeysResponse:
        """Metadata of every key (names, algorithms, versions, states); never material."""
        return svc.keys()

    # -- encryption ---------------------------------------------------------------------------
    @app.post("/v1/encrypt", tags=["encryption"], responses=_ERRORS)
    def encrypt(body: EncryptRequest, request: Request) -> CiphertextResponse:
        """``Vault.encrypt_text``: the ciphertext in text form."""
        plaintext = _plain(body.plaintext, body.encoding)
        with svc.calling(request, body.key, 1) as vault:
            out = vault.encrypt_text(body.key, plaintext, context=to_context(body.context))
        return CiphertextResponse(ciphertext=out)

    @app.post("/v1/encrypt/batch", tags=["encryption"], responses=_ERRORS)
    def encrypt_batch(body: EncryptBatchRequest, request: Request) -> CiphertextsResponse:
        """``Vault.encrypt_text_many``."""
        with svc.calling(request, body.key, len(body.plaintexts)) as vault:
            plaintexts = [_plain(p, body.encoding) for p in body.plaintexts]
            out = vault.encrypt_text_many(
                body.key,
                plaintexts,
                context=maybe_context(body.context),
                contexts=None if body.contexts is None else [to_context(c) for c in body.contexts],
            )
        return CiphertextsResponse(ciphertexts=out)

    @app.post("/v1/decrypt", tags=["encryption"], responses=_ERRORS)
    def decrypt(body: DecryptRequest, request: Request) -> PlaintextResponse:
        """``Vault.decrypt`` (plaintext in base64) or ``decrypt_text`` (``encoding: utf-8``)."""
        context = to_context(body.context)
        with svc.calling(request, None, 1) as vault:
            if body.encoding == "utf-8":
                text = vault.decrypt_text(body.ciphertext, context=context, force=body.force)
            else:
                text = _b64(vault.decrypt(body.ciphertext, context=context, force=body.force))
        return PlaintextResponse(plaintext=text)

    @app.post("/v1/decrypt/batch", tags=["encryption"], responses=_ERRORS)
    def decrypt_batch(body: DecryptBatchRequest, request: Request) -> PlaintextsResponse:
        """``Vault.decrypt_many`` (base64) or ``decrypt_text_many`` (``encoding: utf-8``)."""
        with svc.calling(request, None, len(body.ciphertexts)) as vault:
            context = maybe_context(body.context)
            contexts = None if body.contexts is None else [to_context(c) for c in body.contexts]
            if body.encoding == "utf-8":
                out = vault.decrypt_text_many(
                    body.ciphertexts, context=context, contexts=contexts, force=body.force
                )
            else:
                plains = vault.decrypt_many(
                    body.ciphertexts, context=context, contexts=contexts, force=body.force
                )
                out = [_b64(p) for p in plains]
        return PlaintextsResponse(plaintexts=out)

    # -- tokens ---------------------------------------------------------------------------------
    @app.post("/v1/tokenize", tags=["tokens"], responses=_ERRORS)
    def tokenize(body: TokenizeRequest, request: Request) -> TokenResponse:
        """``Vault.tokenize``."""
        with svc.calling(request, body.key, 1) as vault:
            out = vault.tokenize(
                body.key,
                body.value,
                format=body.format,
                context=to_context(body.context),
                version=body.version,
            )
        return TokenResponse(token=out)

    @app.post("/v1/tokenize/batch", tags=["tokens"], responses=_ERRORS)
    def tokenize_batch(body: TokenizeBatchRequest, request: Request) -> TokensResponse:
        """``Vault.tokenize_many``."""
        with svc.calling(request, body.key, len(body.values)) as vault:
            out = vault.tokenize_many(
                body.key,
                body.values,
                format=body.format,
                context=to_context(body.context),
                version=body.version,
            )
        return TokensResponse(tokens=out)

    @app.post("/v1/detokenize", tags=["tokens"], responses=_ERRORS)
    def detokenize(body: DetokenizeRequest, request: Request) -> ValueResponse:
        """``Vault.detokenize``."""
        with svc.calling(request, body.key, 1) as vault:
            out = vault.detokenize(
                body.key,
                body.token,
                format=body.format,
                context=to_context(body.context),
                version=body.version,
            )
        return ValueResponse(value=out)

    @app.post("/v1/detokenize/batch", tags=["tokens"], responses=_ERRORS)
    def detokenize_batch(body: DetokenizeBatchRequest, request: Request) -> ValuesResponse:
        """``Vault.detokenize_many``."""
        with svc.calling(request, body.key, len(body.tokens)) as vault:
            out = vault.detokenize_many(
                body.key,
                body.tokens,
                format=body.format,
                context=to_context(body.context),
                version=body.version,
            )
        return ValuesResponse(values=out)

    # -- masked reveal (principals with reveal_masked: never a plaintext) ----------------------
    @app.post("/v1/decrypt-masked", tags=["masked reveal"], responses=_ERRORS)
    def decrypt_masked(body: DecryptMaskedRequest, request: Request) -> MaskedResponse:
        """``Vault.decrypt_masked``: the plaintext masked by ``kind``'s display rule."""
        context = to_context(body.context)
        with svc.calling(request, None, 1) as vault:
            out = vault.decrypt_masked(
                body.ciphertext, context=context, kind=body.kind, force=body.force
            )
        return MaskedResponse(masked=out)

    @app.post("/v1/decrypt-masked/batch", tags=["masked reveal"], responses=_ERRORS)
    def decrypt_masked_batch(
        body: DecryptMaskedBatchRequest, request: Request
    ) -> MaskedBatchResponse:
        """``Vault.decrypt_masked_many``."""
        with svc.calling(request, None, len(body.ciphertexts)) as vault:
            out = vault.decrypt_masked_many(
                body.ciphertexts,
                context=maybe_context(body.context),
                contexts=None if body.contexts is None else [to_context(c) for c in body.contexts],
                kind=body.kind,
                force=body.force,
            )
        return MaskedBatchResponse(masked=out)

    @app.post("/v1/detokenize-masked", tags=["masked reveal"], responses=_ERRORS)
    def detokenize_masked(body: DetokenizeMaskedRequest, request: Request) -> MaskedResponse:
        """``Vault.detokenize_masked``: the value masked by its kind's display rule."""
        with svc.calling(request, body.key, 1) as vault:
            out = vault.detokenize_masked(
                body.key,
                body.token,
                format=body.format,
                context=to_context(body.context),
                kind=body.kind,
                version=body.version,
            )
        return MaskedResponse(masked=out)

    @app.post("/v1/detokenize-masked/batch", tags=["masked reveal"], responses=_ERRORS)
    def detokenize_masked_batch(
        body: DetokenizeMaskedBatchRequest, request: Request
    ) -> MaskedBatchResponse:
        """``Vault.detokenize_masked_many``."""
        with svc.calling(request, body.key, len(body.tokens)) as vault:
            out = vault.detokenize_masked_many(
                body.key,
                body.tokens,
                format=body.format,
                context=to_context(body.context),
                kind=body.kind,
                version=body.version,
            )
        return MaskedBatchResponse(masked=out)

    # -- blind indexes ----------------------------------------------------------------------------
    @app.post("/v1/blind-index", tags=["blind indexes"], responses=_ERRORS)
    def blind_index(body: BlindIndexRequest, request: Request) -> IndexResponse:
        """``Vault.blind_index`` (the index in base64); ``kind`` a list: a compound index."""
        with svc.calling(request, body.key, 1) as vault:
            out = vault.blind_index(
                body.key,
                _index_value(body.value),
                context=to_context(body.context),
                bits=body.bits,
                version=body.version,
                kind=_kind(body.kind),
            )
        return IndexResponse(index=_b64(out))

    @app.post("/v1/blind-index/batch", tags=["blind indexes"], responses=_ERRORS)
    def blind_index_batch(body: BlindIndexBatchRequest, request: Request) -> IndexesResponse:
        """``Vault.blind_index_many``."""
        with svc.calling(request, body.key, len(body.values)) as vault:
            out = vault.blind_index_many(
                body.key,
                [_index_value(v) for v in body.values],
                context=to_context(body.context),
                bits=body.bits,
                version=body.version,
                kind=_kind(body.kind),
            )
        return IndexesResponse(indexes=[_b64(i) for i in out])

    @app.post("/v1/blind-index-candidates", tags=["blind indexes"], responses=_ERRORS)
    def blind_index_candidates(body: BlindIndexRequest, request: Request) -> IndexesResponse:
        """``Vault.blind_index_candidates``: the index under every readable version
        (``version`` must be null)."""
        with svc.calling(request, body.key, 1) as vault:
            if body.version is not None:
                raise errors.VaultkitTypeError("blind index candidates take no version")
            out = vault.blind_index_candidates(
                body.key,
                _index_value(body.value),
                context=to_context(body.context),
                bits=body.bits,
                kind=_kind(body.kind),
            )
        return IndexesResponse(indexes=[_b64(i) for i in out])

    if echo:

        @app.post("/v1/echo", tags=["operations"], include_in_schema=False)
        def echo_endpoint(body: TokenizeRequest, request: Request) -> TokenResponse:
            """The benchmarks' baseline: the same stack, no Vault."""
            return TokenResponse(token=body.value)

    return app
