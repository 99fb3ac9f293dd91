"""Who is calling: a bearer token (``Authorization: Bearer ...``) or a client certificate.

Bearer tokens are issued by ``vaultkit principal token NAME`` (printed once; the key ring keeps
only their hash, see docs/access.md) and looked up in the ring on every request, so a token
revoked by the CLI stops working within the ring's refresh bound (0.25 s). Mutual TLS: with
``--tls-client-ca``, uvicorn verifies the client certificate against the bank's CA and the
subject's common name (CN) is the principal. A request with both must name the same principal.
A request with neither, or with an unknown token, is refused with 401.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, cast

from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import asyncio

    from starlette.types import Receive, Scope, Send

__all__ = ["PEER_CN", "TlsPeerProtocol", "bearer_token", "peer_common_name"]

PEER_CN = "vaultkit.peer_cn"  # scope["extensions"] key: the verified client certificate's CN


def peer_common_name(ssl_object: ssl.SSLObject | None) -> str | None:
    """The subject CN of the client certificate the TLS handshake verified, or None."""
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()  # only a verified certificate (CERT_REQUIRED/OPTIONAL)
    if not cert:
        return None
    # ((("commonName", "app"),), ...)
    subject = cast("tuple[tuple[tuple[str, str], ...], ...]", cert.get("subject", ()))
    for rdn in subject:
        for name, value in rdn:
            if name == "commonName":
                return str(value)
    return None


class TlsPeerProtocol(H11Protocol):
    """uvicorn's h11 protocol, handing the verified client certificate's CN to the app in
    ``scope["extensions"]["vaultkit.peer_cn"]`` (uvicorn does not expose the peer certificate;
    the ASGI TLS extension is not implemented by it)."""

    # uvicorn's own signature (narrower than BaseProtocol's, ignored there too)
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cn = peer_common_name(transport.get_extra_info("ssl_object"))
        if cn is None:
            return
        inner = self.app

        async def app(
            scope: Scope,
            receive: Receive,
            send: Send,
        ) -> None:
            scope.setdefault("extensions", {})[PEER_CN] = cn
            await inner(scope, receive, send)

        self.app = app


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, or None."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text: str = bytes(value).decode("latin-1")
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None
