"""How a :class:`vaultkit.remote.RemoteVault` talks to the key service: one pooled HTTP/1.1
keep-alive client (httpx), the retry rule, and batches split at the service's item limit.

Idempotent calls (decrypt, tokenize, detokenize, blind indexes, key metadata) are retried on a
transport failure or a 503; a non-idempotent one (``encrypt``: a second encryption is a
different ciphertext) only when the request never left (a connection refused). An error answer
is raised as the exception it names (:func:`vaultkit.service._wire.decode_error`).
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from typing import TypeVar, cast

from vaultkit.errors import DecryptionError, KMSError
from vaultkit.service._wire import decode_error
from vaultkit.service.limits import MAX_ITEMS  # the service's batch limit, the client's split

__all__ = ["MAX_ITEMS", "Body", "Transport"]

_ITEM = re.compile(r"item (\d+)")
T = TypeVar("T")
# a request body as sent (the shapes in docs/keyservice-openapi.json)
Body = Mapping[str, object]


def _ssl_context(ca: str | None, client_cert: str | tuple[str, str] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca)
    if client_cert is not None:
        cert, key = (client_cert, None) if isinstance(client_cert, str) else client_cert
        context.load_cert_chain(cert, key)
    return context


class Transport:
    """The pooled connections to the service at ``url`` (safe to share between threads)."""

    __slots__ = ("_client", "_retries", "url")

    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        client_cert: str | tuple[str, str] | None,
        ca: str | None,
        timeout: float,
        retries: int,
        max_connections: int,
    ) -> None:
        import httpx

        self.url = url
        headers = {"content-type": "application/json", "accept": "application/json"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        # plain http (loopback): no CA bundle to load; https: the given CA or the system's
        verify: ssl.SSLContext | bool = False
        if url.startswith("https:"):
            verify = _ssl_context(ca, client_cert)
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        # TCP_NODELAY: httpx writes the headers and the body separately; with Nagle's algorithm
        # the body then waits for the server's delayed ACK (40 ms on Linux) on every request
        transport = httpx.HTTPTransport(
            verify=verify,
            limits=limits,
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        self._client = httpx.Client(
            base_url=url, headers=headers, timeout=timeout, transport=transport
        )
        self._retries = retries

    def call(self, path: str, body: Body | None, *, idempotent: bool) -> object:
        """The JSON answer of ``POST path`` (``GET`` without a body)."""
        import httpx

        content = None
        if body is not None:
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            try:
                content = text.encode("utf-8")
            except UnicodeEncodeError:
                content = None  # a lone surrogate: sent escaped, refused by the service's rule
            if content is None:
                content = json.dumps(body, separators=(",", ":")).encode("ascii")
            del text
        attempt = 0
        while True:
            try:
                if content is None:
                    response = self._client.get(path)
                else:
                    response = self._client.post(path, content=content)
            except httpx.TransportError as exc:
                sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if attempt < self._retries and (idempotent or not sent):
                    attempt += 1
                    time.sleep(0.05 * 2**attempt)
                    continue
                raise KMSError(
                    f"the key service at {self.url} cannot be reached ({type(exc).__name__})"
                ) from None
            if response.status_code == 503 and idempotent and attempt < self._retries:
                attempt += 1
                time.sleep(0.05 * 2**attempt)
                continue
            try:
                data = response.json()
            except ValueError:
                data = None
            if response.status_code >= 400:
                raise decode_error(response.status_code, data, self.url)
            return data

    def field(self, path: str, body: Body, field: str, *, idempotent: bool) -> object:
        """One field of the service's answer (a JSON object for every POST endpoint)."""
        return cast("dict[str, object]", self.call(path, body, idempotent=idempotent))[field]

    def text(self, path: str, body: Body, field: str, *, idempotent: bool) -> str:
        return str(self.field(path, body, field, idempotent=idempotent))

    def texts(self, path: str, body: Body, field: str, *, idempotent: bool) -> list[str]:
        """A field holding a list of str (ciphertexts, tokens, base64 indexes, ...)."""
        return list(cast("list[str]", self.field(path, body, field, idempotent=idempotent)))

    @staticmethod
    def split(n: int, run: Callable[[int, int], list[T]], *, item_errors: bool = False) -> list[T]:
        """``run(start, stop)`` over parts of at most MAX_ITEMS, results joined; a
        ``DecryptionError`` naming an item is renumbered to the whole batch."""
        if n <= MAX_ITEMS:
            return run(0, n)
        out: list[T] = []
        for start in range(0, n, MAX_ITEMS):
            try:
                out += run(start, min(n, start + MAX_ITEMS))
            except DecryptionError as exc:
                found = _ITEM.fullmatch(exc.where or "") if item_errors else None
                if found is None:
                    raise
                raise DecryptionError(f"item {start + int(found[1])}") from None
        return out

    def close(self) -> None:
        self._client.close()
