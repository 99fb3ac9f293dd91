"""How a :class:`vaultkit.remote.RemoteVault` talks to the key service: one pooled HTTP/1.1
keep-alive client (httpx), the retry rule, and batches sent in the parts
:mod:`vaultkit._remote.batches` plans (under the service's item and byte limits).

Idempotent calls (decrypt, tokenize, detokenize, blind indexes, key metadata) are retried on a
transport failure or a 503; a non-idempotent one (``encrypt``: a second encryption is a
different ciphertext) only when the request never left (a connection refused). An error answer
is raised as the exception it names (:func:`vaultkit.service._wire.decode_error`).

A batch sent in several parts is all or nothing for the caller, as one request is: the parts go
one after the other, in order, and the first part refused raises its error (a ``DecryptionError``
naming an item renumbered to the item's place in the whole batch); the answers of the parts
before it are dropped, nothing is returned. Those parts were processed by the service (and are
in its audit trail): an ``encrypt_many`` that fails in its second part has encrypted the first
part's values, whose ciphertexts are discarded. A body over the byte limit is refused here,
before anything is sent (``InputFormatError``).
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Mapping
from typing import cast

from vaultkit._remote.batches import Columns, Head, body_of, encode_json, oversized, plan
from vaultkit.errors import DecryptionError, KMSError
from vaultkit.service._wire import decode_error
from vaultkit.service.limits import MAX_BYTES, MAX_ITEMS  # the service's limits, one owner

__all__ = ["MAX_BYTES", "MAX_ITEMS", "Body", "Transport"]

_ITEM = re.compile(r"item (\d+)")
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
        return self._send(path, None if body is None else encode_json(body), idempotent)

    def _send(self, path: str, content: bytes | None, idempotent: bool) -> object:
        import httpx

        if content is not None and len(content) > MAX_BYTES:
            raise oversized(MAX_BYTES)  # the service would answer 413 without reading it
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

    def batch(
        self,
        path: str,
        head: Head,
        columns: Columns,
        field: str,
        *,
        idempotent: bool,
        item_errors: bool = False,
    ) -> list[str]:
        """The joined ``field`` lists of the answers to ``POST path`` for each part of the batch
        (``head`` shared, ``columns`` one value per item; :func:`vaultkit._remote.batches.plan`),
        in order. The first part refused raises (see the module's docstring); with
        ``item_errors``, a ``DecryptionError`` naming an item is renumbered to the whole batch."""
        out = self.batch_items(
            path, head, columns, field, idempotent=idempotent, item_errors=item_errors
        )
        return cast("list[str]", out)

    def batch_items(
        self,
        path: str,
        head: Head,
        columns: Columns,
        field: str,
        *,
        idempotent: bool,
        item_errors: bool = False,
    ) -> list[object]:
        """:meth:`batch` for answers whose list items are not str (e.g. JSON objects)."""
        n = len(next(iter(columns.values())))
        if n <= MAX_ITEMS:  # the common case: one request, its body encoded once
            content = encode_json(body_of(head, columns, 0, n))
            if len(content) <= MAX_BYTES:
                answer = cast("dict[str, list[object]]", self._send(path, content, idempotent))
                return list(answer[field])
            del content
        parts = plan(head, columns, n)
        out: list[object] = []
        for start, stop in parts:
            body = body_of(head, columns, start, stop)
            try:
                out += cast("list[object]", self.field(path, body, field, idempotent=idempotent))
            except DecryptionError as exc:
                found = _ITEM.fullmatch(exc.where or "") if item_errors else None
                if found is None:
                    raise
                raise DecryptionError(f"item {start + int(found[1])}") from None
        return out

    def close(self) -> None:
        self._client.close()
