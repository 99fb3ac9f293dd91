"""How the key service answers an error: the HTTP status of each vaultkit error, the error
body (:func:`vaultkit.service._wire.encode_error`), the rule a schema error names (never the
value), and the error answers the OpenAPI schema lists for every endpoint.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fastapi.responses import JSONResponse

from vaultkit.errors import masked
from vaultkit.service._wire import encode_error
from vaultkit.service.models import ErrorResponse

if TYPE_CHECKING:
    from fastapi.exceptions import RequestValidationError

__all__ = ["ERRORS", "error_response", "schema_rule", "status_of"]

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


def error_response(status: int, kind: str, message: str, **extra: str | None) -> JSONResponse:
    """The answer of an error: ``kind`` the vaultkit.errors class name, ``message`` safe."""
    return JSONResponse(encode_error(kind, message, **extra), status_code=status)


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


def schema_rule(exc: RequestValidationError) -> str:
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


ERRORS: dict[int | str, dict[str, object]] = {
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
