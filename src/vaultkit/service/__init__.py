"""The key service: ``vaultkit serve`` puts a key ring behind an authenticated, audited HTTP API.

Applications then hold no key material: they call it through :class:`vaultkit.remote.RemoteVault`
(the same methods and exceptions as :class:`vaultkit.Vault`). Modules: :mod:`.app` (the ASGI app
and its endpoints), :mod:`.auth` (bearer tokens, client certificates), :mod:`.limits` (batch
limits), :mod:`.metrics` (Prometheus text), :mod:`.models` (the JSON bodies), :mod:`.server`
(uvicorn, TLS, the bind check). Needs the ``server`` extra (``pip install 'vaultkit[server]'``).
See docs/keyservice.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaultkit.service.app import KeyService, create_app
    from vaultkit.service.server import serve

__all__ = ["KeyService", "create_app", "serve"]


def __getattr__(name: str) -> object:
    """Imported on first use: ``vaultkit.remote`` and the CLI's help load no FastAPI."""
    if name in ("KeyService", "create_app"):
        from vaultkit.service import app

        return getattr(app, name)
    if name == "serve":
        from vaultkit.service import server

        return server.serve
    raise AttributeError(f"module 'vaultkit.service' has no attribute {name!r}")
