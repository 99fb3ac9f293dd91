"""Running the key service: uvicorn on a bound socket, TLS and mutual TLS, graceful stop.

A non-loopback address is refused without TLS (bearer tokens and plaintexts would cross the
network in clear). ``SIGTERM`` (and ``SIGINT``) stop accepting connections and let the requests
in flight finish (uvicorn's graceful shutdown, at most ``drain`` seconds) before the process
exits; the key ring is closed (its DEKs wiped) afterwards.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from vaultkit.errors import PolicyError

if TYPE_CHECKING:
    from vaultkit.service.app import KeyService

__all__ = ["check_bind", "parse_bind", "serve"]


def parse_bind(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as ``(host, port)``; port 0 picks a free one."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise PolicyError(f"--bind takes HOST:PORT (e.g. 127.0.0.1:8700), not {text!r}")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, tls: bool) -> None:
    """Refuse a non-loopback ``host`` without TLS (``PolicyError``)."""
    if not tls and not is_loopback(host):
        raise PolicyError(
            f"refusing to serve on {host} without TLS: tokens and values would cross the "
            "network in clear (give --tls-cert and --tls-key, or bind a loopback address)"
        )


def serve(
    service: KeyService,
    *,
    host: str = "127.0.0.1",
    port: int = 8700,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    tls_client_ca: str | None = None,
    drain: float = 30.0,
    ready: Callable[[str], None] | None = None,
    echo: bool = False,
) -> None:
    """Serve until SIGTERM/SIGINT. ``ready`` gets the base URL once the socket listens (with
    port 0, the port the system chose). ``echo``: also ``POST /v1/echo`` (benchmarks only, see
    :func:`~vaultkit.service.app.create_app`)."""
    import uvicorn

    from vaultkit.service.app import create_app
    from vaultkit.service.auth import TlsPeerProtocol

    tls = tls_cert is not None
    if (tls_key is None) != (tls_cert is None):
        raise PolicyError("--tls-cert and --tls-key go together")
    if tls_client_ca is not None and not tls:
        raise PolicyError("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
    check_bind(host, tls=tls)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # inherited by accepted connections: uvicorn writes a response's head and body separately,
    # and with Nagle's algorithm the body would wait for the client's delayed ACK (40 ms)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    config = uvicorn.Config(
        create_app(service, echo=echo),
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        ssl_ca_certs=tls_client_ca,
        # mutual TLS: a certificate from the bank's CA is required (its CN is the principal)
        ssl_cert_reqs=ssl.CERT_REQUIRED if tls_client_ca else ssl.CERT_NONE,
        http=TlsPeerProtocol,
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=int(drain),
        server_header=False,
    )
    server = uvicorn.Server(config)
    if ready is not None:
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if family == socket.AF_INET6 else bound_host
        ready(f"{'https' if tls else 'http'}://{shown}:{bound_port}")
    # uvicorn drains on SIGTERM, then raises the signal again with the handler found at start:
    # a no-op one here, so a graceful stop exits 0 (systemd, containers) instead of by signal
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: None) if main else None
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if main:
            signal.signal(signal.SIGTERM, previous)
