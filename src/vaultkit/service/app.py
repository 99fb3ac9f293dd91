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

The parts, each in a module of its own: :mod:`._operations` (:class:`KeyService`, the per-request
state), :mod:`._gate` (:class:`Gate`), :mod:`._errors` (HTTP statuses, error bodies, schema
rules), :mod:`._routes` (the endpoints), :mod:`._wire` (the values' wire encoding, shared with
:mod:`vaultkit.remote`); this module assembles them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from vaultkit.service._errors import status_of
from vaultkit.service._gate import Gate
from vaultkit.service._operations import KeyService
from vaultkit.service._routes import build

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["API_VERSION", "Gate", "KeyService", "create_app", "openapi", "status_of"]

API_VERSION = "1"


def create_app(service: KeyService, *, echo: bool = False) -> ASGIApp:
    """The ASGI app serving ``service`` (wrapped in :class:`Gate`). ``echo`` adds
    ``POST /v1/echo``, which returns its body through the same stack without a Vault (the
    benchmarks' baseline)."""
    return Gate(build(service, echo=echo), service)


def openapi() -> dict[str, object]:
    """The OpenAPI schema the service serves at ``/openapi.json`` (committed as
    docs/keyservice-openapi.json; ``python -m vaultkit.service.schema`` prints it)."""
    return build(cast("KeyService", None), echo=False).openapi()
