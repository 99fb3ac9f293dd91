"""The key service's endpoints (FastAPI): one per Vault operation, single and batch, plus health,
metrics and key metadata. Each decodes its body (:mod:`vaultkit.service._wire`), runs the
operation on the caller's Vault in a worker thread (:meth:`KeyService.calling`), and encodes the
answer; FastAPI's own validation answer (422, echoing the input) is replaced by a 400 naming the
rule (:func:`vaultkit.service._errors.schema_rule`).

The order of the endpoints here is the order of the OpenAPI schema (docs/keyservice-openapi.json,
generated from this app).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse

from vaultkit import errors
from vaultkit.errors import VaultkitError
from vaultkit.service._errors import ERRORS, error_response, schema_rule, status_of
from vaultkit.service._operations import KeyService
from vaultkit.service._wire import (
    b64,
    decode_index_value,
    decode_kind,
    decode_plaintext,
    encode_retired,
)
from vaultkit.service.limits import TooManyItems
from vaultkit.service.models import (
    BlindIndexBatchRequest,
    BlindIndexRequest,
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
    IndexesResponse,
    IndexResponse,
    KeysResponse,
    MaskedBatchResponse,
    MaskedResponse,
    PlaintextResponse,
    PlaintextsResponse,
    RetiredIndexesResponse,
    RetiredTokensResponse,
    TokenizeBatchRequest,
    TokenizeRequest,
    TokenResponse,
    TokensResponse,
    ValueResponse,
    ValuesResponse,
    maybe_context,
    to_context,
)

__all__ = ["build"]


def build(service: KeyService, *, echo: bool) -> FastAPI:
    """The FastAPI app of ``service`` (``echo``: see :func:`vaultkit.service.app.create_app`)."""
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
    async def schemaerror_response(request: Request, exc: RequestValidationError) -> JSONResponse:
        rule = schema_rule(exc)
        return error_response(400, "RequestError", f"invalid request: {rule}", rule=rule)

    @app.exception_handler(TooManyItems)
    async def too_many(request: Request, exc: TooManyItems) -> JSONResponse:
        return error_response(413, "InputFormatError", exc.rule, rule=exc.rule)

    @app.exception_handler(VaultkitError)
    async def vaultkiterror_response(request: Request, exc: VaultkitError) -> JSONResponse:
        return error_response(
            status_of(exc),
            type(exc).__name__,
            str(exc),
            rule=getattr(exc, "rule", None),
            where=getattr(exc, "where", None),
        )

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        # nothing of the exception is shown: its message or arguments may hold a value
        return error_response(500, "VaultkitError", f"internal error ({type(exc).__name__})")

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

    @app.get("/v1/keys", tags=["keys"], responses=ERRORS)
    def keys(request: Request) -> KeysResponse:
        """Metadata of every key (names, algorithms, versions, states); never material."""
        return svc.keys()

    # -- encryption ---------------------------------------------------------------------------
    @app.post("/v1/encrypt", tags=["encryption"], responses=ERRORS)
    def encrypt(body: EncryptRequest, request: Request) -> CiphertextResponse:
        """``Vault.encrypt_text``: the ciphertext in text form."""
        plaintext = decode_plaintext(body.plaintext, body.encoding)
        with svc.calling(request, body.key, 1) as vault:
            out = vault.encrypt_text(body.key, plaintext, context=to_context(body.context))
        return CiphertextResponse(ciphertext=out)

    @app.post("/v1/encrypt/batch", tags=["encryption"], responses=ERRORS)
    def encrypt_batch(body: EncryptBatchRequest, request: Request) -> CiphertextsResponse:
        """``Vault.encrypt_text_many``."""
        with svc.calling(request, body.key, len(body.plaintexts)) as vault:
            plaintexts = [decode_plaintext(p, body.encoding) for p in body.plaintexts]
            out = vault.encrypt_text_many(
                body.key,
                plaintexts,
                context=maybe_context(body.context),
                contexts=None if body.contexts is None else [to_context(c) for c in body.contexts],
            )
        return CiphertextsResponse(ciphertexts=out)

    @app.post("/v1/decrypt", tags=["encryption"], responses=ERRORS)
    def decrypt(body: DecryptRequest, request: Request) -> PlaintextResponse:
        """``Vault.decrypt`` (plaintext in base64) or ``decrypt_text`` (``encoding: utf-8``)."""
        context = to_context(body.context)
        with svc.calling(request, None, 1) as vault:
            if body.encoding == "utf-8":
                text = vault.decrypt_text(body.ciphertext, context=context, force=body.force)
            else:
                text = b64(vault.decrypt(body.ciphertext, context=context, force=body.force))
        return PlaintextResponse(plaintext=text)

    @app.post("/v1/decrypt/batch", tags=["encryption"], responses=ERRORS)
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
                out = [b64(p) for p in plains]
        return PlaintextsResponse(plaintexts=out)

    # -- tokens ---------------------------------------------------------------------------------
    @app.post("/v1/tokenize", tags=["tokens"], responses=ERRORS)
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

    @app.post("/v1/tokenize/batch", tags=["tokens"], responses=ERRORS)
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

    @app.post("/v1/detokenize", tags=["tokens"], responses=ERRORS)
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

    @app.post("/v1/detokenize/batch", tags=["tokens"], responses=ERRORS)
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

    @app.post("/v1/retired-token-candidates", tags=["tokens"], responses=ERRORS)
    def retired_token_candidates(
        body: TokenizeBatchRequest, request: Request
    ) -> RetiredTokensResponse:
        """``Vault.retired_token_candidates``: the tokens under each retired version, for a
        search to refuse the rows it would miss (``version`` must be null; never for writing)."""
        with svc.calling(request, body.key, len(body.values)) as vault:
            if body.version is not None:
                raise errors.VaultkitTypeError("retired token candidates take no version")
            out = vault.retired_token_candidates(
                body.key, body.values, format=body.format, context=to_context(body.context)
            )
        return RetiredTokensResponse.model_validate({"candidates": encode_retired(out)})

    # -- masked reveal (principals with reveal_masked: never a plaintext) ----------------------
    @app.post("/v1/decrypt-masked", tags=["masked reveal"], responses=ERRORS)
    def decrypt_masked(body: DecryptMaskedRequest, request: Request) -> MaskedResponse:
        """``Vault.decrypt_masked``: the plaintext masked by ``kind``'s display rule."""
        context = to_context(body.context)
        with svc.calling(request, None, 1) as vault:
            out = vault.decrypt_masked(
                body.ciphertext, context=context, kind=body.kind, force=body.force
            )
        return MaskedResponse(masked=out)

    @app.post("/v1/decrypt-masked/batch", tags=["masked reveal"], responses=ERRORS)
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

    @app.post("/v1/detokenize-masked", tags=["masked reveal"], responses=ERRORS)
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

    @app.post("/v1/detokenize-masked/batch", tags=["masked reveal"], responses=ERRORS)
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
    @app.post("/v1/blind-index", tags=["blind indexes"], responses=ERRORS)
    def blind_index(body: BlindIndexRequest, request: Request) -> IndexResponse:
        """``Vault.blind_index`` (the index in base64); ``kind`` a list: a compound index."""
        with svc.calling(request, body.key, 1) as vault:
            out = vault.blind_index(
                body.key,
                decode_index_value(body.value),
                context=to_context(body.context),
                bits=body.bits,
                version=body.version,
                kind=decode_kind(body.kind),
            )
        return IndexResponse(index=b64(out))

    @app.post("/v1/blind-index/batch", tags=["blind indexes"], responses=ERRORS)
    def blind_index_batch(body: BlindIndexBatchRequest, request: Request) -> IndexesResponse:
        """``Vault.blind_index_many``."""
        with svc.calling(request, body.key, len(body.values)) as vault:
            out = vault.blind_index_many(
                body.key,
                [decode_index_value(v) for v in body.values],
                context=to_context(body.context),
                bits=body.bits,
                version=body.version,
                kind=decode_kind(body.kind),
            )
        return IndexesResponse(indexes=[b64(i) for i in out])

    @app.post("/v1/blind-index-candidates", tags=["blind indexes"], responses=ERRORS)
    def blind_index_candidates(body: BlindIndexRequest, request: Request) -> IndexesResponse:
        """``Vault.blind_index_candidates``: the index under every readable version
        (``version`` must be null)."""
        with svc.calling(request, body.key, 1) as vault:
            if body.version is not None:
                raise errors.VaultkitTypeError("blind index candidates take no version")
            out = vault.blind_index_candidates(
                body.key,
                decode_index_value(body.value),
                context=to_context(body.context),
                bits=body.bits,
                kind=decode_kind(body.kind),
            )
        return IndexesResponse(indexes=[b64(i) for i in out])

    @app.post("/v1/retired-index-candidates", tags=["blind indexes"], responses=ERRORS)
    def retired_index_candidates(
        body: BlindIndexRequest, request: Request
    ) -> RetiredIndexesResponse:
        """``Vault.retired_index_candidates``: the index under each retired version, for a
        search to refuse the rows it would miss (``version`` must be null; never for writing)."""
        with svc.calling(request, body.key, 1) as vault:
            if body.version is not None:
                raise errors.VaultkitTypeError("retired index candidates take no version")
            out = vault.retired_index_candidates(
                body.key,
                decode_index_value(body.value),
                context=to_context(body.context),
                bits=body.bits,
                kind=decode_kind(body.kind),
            )
        return RetiredIndexesResponse.model_validate({"candidates": encode_retired(out)})

    if echo:

        @app.post("/v1/echo", tags=["operations"], include_in_schema=False)
        def echo_endpoint(body: TokenizeRequest, request: Request) -> TokenResponse:
            """The benchmarks' baseline: the same stack, no Vault."""
            return TokenResponse(token=body.value)

    return app
