"""``RemoteVault``: the :class:`vaultkit.Vault` API over the key service (``vaultkit serve``).

The same methods, arguments and exceptions as the in-process Vault, answered by the key service,
so the application process holds no key material: a DEK never leaves the service, only
ciphertexts, tokens, indexes and the plaintexts the caller's grants allow. One pooled HTTP/1.1
keep-alive client (httpx) per RemoteVault, safe to share between threads. Idempotent operations
(decrypt, tokenize, detokenize, blind indexes, key metadata) are retried on a transport failure
or a 503; ``encrypt`` only when the request never left (a connection refused), since a second
encryption is a different ciphertext. Batches over the service's 10,000-item limit are sent in
parts. See docs/keyservice.md.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict, TypeVar, cast

from vaultkit import errors
from vaultkit._nopickle import NoPickle
from vaultkit.envelope._format import as_binary, to_text
from vaultkit.errors import (
    DecryptionError,
    KeyNotFoundError,
    KeyStateError,
    KMSError,
    VaultkitError,
    VaultkitTypeError,
)
from vaultkit.keys import Algorithm, KeyState

if TYPE_CHECKING:
    from vaultkit.keys import KeyInfo

__all__ = ["RemoteKeys", "RemoteVault"]

ENV_SERVER = "VAULTKIT_SERVER"
ENV_TOKEN = "VAULTKIT_TOKEN"  # noqa: S105 - the variable's name, not a secret
ENV_SERVER_CA = "VAULTKIT_SERVER_CA"
ENV_CLIENT_CERT = "VAULTKIT_CLIENT_CERT"

MAX_ITEMS = 10_000  # the service's batch limit (vaultkit.service.limits)
_METADATA_TTL = 0.25  # seconds: as the in-process ring's store refresh bound
_ITEM = re.compile(r"item (\d+)")
T = TypeVar("T")
Context = Mapping[str, "str | bytes"]
# a context as sent: text values as is, bytes values as {"base64": ...}
WireContext = dict[str, "str | dict[str, str]"]
# a request body as sent (the shapes in docs/keyservice-openapi.json)
Body = Mapping[str, object]


class _WireVersion(TypedDict):
    version: int
    state: str
    created: str


class _WireKey(TypedDict):
    name: str
    key_id: int
    algorithm: str
    created: str
    versions: list[_WireVersion]


class _WireKeys(TypedDict):
    """The answer of ``GET /v1/keys``."""

    keys: list[_WireKey]


def _wire_context(context: Context | None) -> WireContext | None:
    if context is None:
        return None
    if not isinstance(context, Mapping):
        raise VaultkitTypeError("context is a mapping of str to str or bytes")
    out: WireContext = {}
    for key, value in context.items():
        if not isinstance(key, str):
            raise VaultkitTypeError("context keys are str")
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, bytes | bytearray | memoryview):
            out[key] = {"base64": base64.b64encode(bytes(value)).decode("ascii")}
        else:
            raise VaultkitTypeError(f"context value for {key!r} must be str or bytes")
    return out


def _b64(data: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _plaintexts(values: Sequence[bytes | str]) -> tuple[list[str], str]:
    """The plaintexts as sent, and their encoding (all text: as is; else all base64)."""
    if all(isinstance(v, str) for v in values):
        return list(values), "utf-8"  # type: ignore[arg-type]
    out = []
    for v in values:
        if isinstance(v, str):
            from vaultkit._facade.plaintexts import as_bytes

            out.append(_b64(as_bytes(v)))
        elif isinstance(v, bytes | bytearray | memoryview):
            out.append(_b64(v))
        else:
            raise VaultkitTypeError("a plaintext is bytes or str")
    return out, "base64"


def _ciphertexts(values: Sequence[bytes | str]) -> list[str]:
    """Ciphertexts in the text form (the binary form's base64url: no key involved)."""
    out = []
    for v in values:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, bytes | bytearray | memoryview):
            out.append(to_text(bytes(v)))
        else:
            raise VaultkitTypeError("a ciphertext is bytes (binary form) or str (text form)")
    return out


def _format(format: object) -> str:
    if not isinstance(format, str):
        raise VaultkitTypeError("a RemoteVault takes token formats by name (a str)")
    return format


def _kind(kind: object) -> str | list[str] | None:
    if kind is None or isinstance(kind, str):
        return kind
    parts = getattr(kind, "parts", None)  # a blindindex.Compound
    if isinstance(parts, tuple):
        return list(parts)
    raise VaultkitTypeError("kind is a kind name, a Compound or None")


def _index_value(value: object) -> str | dict[str, str] | list[object]:
    """An index value as sent: str; bytes as ``{"base64": ...}``; a compound's tuple as a list
    (of str and int items)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": _b64(value)}
    if isinstance(value, tuple | list) and all(
        isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in value
    ):
        return list(value)
    raise VaultkitTypeError(
        "a RemoteVault indexes str or bytes, or a tuple of str and int for a Compound"
    )


def _version(version: object) -> int | None:
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise VaultkitTypeError("version must be an int or None")
    return version


def _error(status: int, body: object, url: str) -> VaultkitError:
    """The exception the service's answer names, as the in-process Vault raises it."""
    info = body.get("error") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        return KMSError(f"the key service at {url} answered HTTP {status} without an error body")
    name, message = str(info.get("type", "")), str(info.get("message", ""))
    if name == "DecryptionError":
        return DecryptionError(info.get("where"))
    if name == "RequestError":
        return VaultkitTypeError(message)
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, VaultkitError)):
        cls = VaultkitError
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    for attr in ("rule", "where", "kind", "principal", "operation", "key"):
        if attr in info:
            setattr(exc, attr, info[attr])
    if name == "InputFormatError" and not hasattr(exc, "kind"):
        exc.kind = None  # type: ignore[attr-defined]
    return exc


def _ssl_context(ca: str | None, client_cert: str | tuple[str, str] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca)
    if client_cert is not None:
        cert, key = (client_cert, None) if isinstance(client_cert, str) else client_cert
        context.load_cert_chain(cert, key)
    return context


class RemoteVault(NoPickle):
    """A :class:`vaultkit.Vault` whose keys stay in the key service at ``url``.

    ``RemoteVault(url, *, token=None, client_cert=None, ca=None, timeout=30.0, retries=2)``:
    ``token`` a bearer token (``vaultkit principal token NAME``); ``client_cert`` a PEM file
    holding certificate and key, or ``(cert, key)`` (mutual TLS: its CN is the principal);
    ``ca`` the PEM CA bundle the service's certificate is checked against (the system's by
    default). Raises what the in-process Vault raises (``DecryptionError``, ``AccessDeniedError``,
    ``KeyNotFoundError``, ``KeyStateError``, ``InputFormatError``, ...; ``RateLimitedError`` over
    the grant's rate); ``KMSError`` when the service cannot be reached.
    """

    __slots__ = ("__weakref__", "_client", "_keys", "_retries", "url")

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        client_cert: str | tuple[str, str] | None = None,
        ca: str | None = None,
        timeout: float = 30.0,
        retries: int = 2,
        max_connections: int = 64,
    ) -> None:
        import httpx

        self.url = url.rstrip("/")
        headers = {"content-type": "application/json", "accept": "application/json"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        # plain http (loopback): no CA bundle to load; https: the given CA or the system's
        verify: ssl.SSLContext | bool = False
        if self.url.startswith("https:"):
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
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )
        self._retries = retries
        self._keys = RemoteKeys(self)

    @classmethod
    def from_env(cls, url: str | None = None) -> RemoteVault:
        """A RemoteVault configured by the environment: ``VAULTKIT_SERVER`` (unless ``url``),
        ``VAULTKIT_TOKEN``, ``VAULTKIT_SERVER_CA``, ``VAULTKIT_CLIENT_CERT``."""
        target = url or os.environ.get(ENV_SERVER)
        if not target:
            raise VaultkitTypeError(f"no key service: set {ENV_SERVER}")
        return cls(
            target,
            token=os.environ.get(ENV_TOKEN) or None,
            client_cert=os.environ.get(ENV_CLIENT_CERT) or None,
            ca=os.environ.get(ENV_SERVER_CA) or None,
        )

    @property
    def keys(self) -> RemoteKeys:
        """Key metadata (names, algorithms, versions, states) from the service; no material."""
        return self._keys

    # -- transport -------------------------------------------------------------------------------
    def _call(self, path: str, body: Body | None, *, idempotent: bool) -> object:
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
                raise _error(response.status_code, data, self.url)
            return data

    def _field(self, path: str, body: Body, field: str, *, idempotent: bool) -> object:
        """One field of the service's answer (a JSON object for every POST endpoint)."""
        return cast("dict[str, object]", self._call(path, body, idempotent=idempotent))[field]

    def _text(self, path: str, body: Body, field: str, *, idempotent: bool) -> str:
        return str(self._field(path, body, field, idempotent=idempotent))

    def _texts(self, path: str, body: Body, field: str, *, idempotent: bool) -> list[str]:
        """A field holding a list of str (ciphertexts, tokens, base64 indexes, ...)."""
        return list(cast("list[str]", self._field(path, body, field, idempotent=idempotent)))

    def _split(
        self, n: int, run: Callable[[int, int], list[T]], *, item_errors: bool = False
    ) -> list[T]:
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

    # -- encryption -------------------------------------------------------------------------------
    def encrypt(self, key_name: str, plaintext: bytes | str, *, context: Context) -> bytes:
        """Binary field ciphertext of ``plaintext`` under the primary version of ``key_name``."""
        return as_binary(self.encrypt_text(key_name, plaintext, context=context))

    def encrypt_text(self, key_name: str, plaintext: bytes | str, *, context: Context) -> str:
        """Like :meth:`encrypt`, in the ASCII text form ``vk1.<base64url>``."""
        (sent,), encoding = _plaintexts([plaintext])
        body = {
            "key": key_name,
            "plaintext": sent,
            "encoding": encoding,
            "context": _wire_context(context),
        }
        return self._text("/v1/encrypt", body, "ciphertext", idempotent=False)

    def encrypt_many(
        self,
        key_name: str,
        plaintexts: Sequence[bytes | str],
        *,
        context: Context | None = None,
        contexts: Sequence[Context] | None = None,
    ) -> list[bytes]:
        """Binary ciphertexts of many fields in one request (``context`` shared or per item)."""
        texts = self.encrypt_text_many(key_name, plaintexts, context=context, contexts=contexts)
        return [as_binary(t) for t in texts]

    def encrypt_text_many(
        self,
        key_name: str,
        plaintexts: Sequence[bytes | str],
        *,
        context: Context | None = None,
        contexts: Sequence[Context] | None = None,
    ) -> list[str]:
        """Like :meth:`encrypt_many`, in the text form."""
        sent, encoding = _plaintexts(list(plaintexts))
        wire_contexts = None if contexts is None else [_wire_context(c) for c in contexts]

        def run(start: int, stop: int) -> list[str]:
            body = {
                "key": key_name,
                "plaintexts": sent[start:stop],
                "encoding": encoding,
                "context": _wire_context(context),
                "contexts": None if wire_contexts is None else wire_contexts[start:stop],
            }
            return self._texts("/v1/encrypt/batch", body, "ciphertexts", idempotent=False)

        return self._split(len(sent), run)

    # -- decryption -------------------------------------------------------------------------------
    def _decrypt(self, ciphertext: bytes | str, context: Context, force: bool, enc: str) -> str:
        (sent,) = _ciphertexts([ciphertext])
        body = {
            "ciphertext": sent,
            "context": _wire_context(context),
            "force": bool(force),
            "encoding": enc,
        }
        return self._text("/v1/decrypt", body, "plaintext", idempotent=True)

    def decrypt(self, ciphertext: bytes | str, *, context: Context, force: bool = False) -> bytes:
        """Plaintext of a ciphertext (binary or text form) made with the same ``context``."""
        return base64.b64decode(self._decrypt(ciphertext, context, force, "base64"))

    def decrypt_text(
        self, ciphertext: str | bytes, *, context: Context, force: bool = False
    ) -> str:
        """Like :meth:`decrypt`, returning the plaintext as UTF-8 text."""
        return self._decrypt(ciphertext, context, force, "utf-8")

    def _decrypt_many(
        self,
        ciphertexts: Sequence[bytes | str],
        context: Context | None,
        contexts: Sequence[Context] | None,
        force: bool,
        enc: str,
    ) -> list[str]:
        sent = _ciphertexts(list(ciphertexts))
        wire_contexts = None if contexts is None else [_wire_context(c) for c in contexts]

        def run(start: int, stop: int) -> list[str]:
            body = {
                "ciphertexts": sent[start:stop],
                "context": _wire_context(context),
                "contexts": None if wire_contexts is None else wire_contexts[start:stop],
                "force": bool(force),
                "encoding": enc,
            }
            return self._texts("/v1/decrypt/batch", body, "plaintexts", idempotent=True)

        return self._split(len(sent), run, item_errors=True)

    def decrypt_many(
        self,
        ciphertexts: Sequence[bytes | str],
        *,
        context: Context | None = None,
        contexts: Sequence[Context] | None = None,
        force: bool = False,
    ) -> list[bytes]:
        """Plaintexts of many ciphertexts (any mix of key versions) in one request."""
        texts = self._decrypt_many(ciphertexts, context, contexts, force, "base64")
        return [base64.b64decode(t) for t in texts]

    def decrypt_text_many(
        self,
        ciphertexts: Sequence[str | bytes],
        *,
        context: Context | None = None,
        contexts: Sequence[Context] | None = None,
        force: bool = False,
    ) -> list[str]:
        """Like :meth:`decrypt_many`, returning UTF-8 text."""
        return self._decrypt_many(ciphertexts, context, contexts, force, "utf-8")

    # -- tokens -----------------------------------------------------------------------------------
    def _token_body(
        self, key_name: str, format: object, context: Context, version: object
    ) -> dict[str, object]:
        return {
            "key": key_name,
            "format": _format(format),
            "context": _wire_context(context),
            "version": _version(version),
        }

    def tokenize(
        self,
        key_name: str,
        value: str,
        *,
        format: object,
        context: Context,
        version: int | None = None,
    ) -> str:
        """Format-preserving token of ``value``."""
        body = self._token_body(key_name, format, context, version) | {"value": value}
        return self._text("/v1/tokenize", body, "token", idempotent=True)

    def detokenize(
        self,
        key_name: str,
        token: str,
        *,
        format: object,
        context: Context,
        version: int | None = None,
    ) -> str:
        """Inverse of :meth:`tokenize`."""
        body = self._token_body(key_name, format, context, version) | {"token": token}
        return self._text("/v1/detokenize", body, "value", idempotent=True)

    def tokenize_many(
        self,
        key_name: str,
        values: Sequence[str],
        *,
        format: object,
        context: Context,
        version: int | None = None,
    ) -> list[str]:
        """:meth:`tokenize` for many values in one request."""
        head = self._token_body(key_name, format, context, version)
        items = list(values)

        def run(start: int, stop: int) -> list[str]:
            body = head | {"values": items[start:stop]}
            return self._texts("/v1/tokenize/batch", body, "tokens", idempotent=True)

        return self._split(len(items), run)

    def detokenize_many(
        self,
        key_name: str,
        tokens: Sequence[str],
        *,
        format: object,
        context: Context,
        version: int | None = None,
    ) -> list[str]:
        """:meth:`detokenize` for many tokens in one request."""
        head = self._token_body(key_name, format, context, version)
        items = list(tokens)

        def run(start: int, stop: int) -> list[str]:
            body = head | {"tokens": items[start:stop]}
            return self._texts("/v1/detokenize/batch", body, "values", idempotent=True)

        return self._split(len(items), run)

    # -- masked reveal -------------------------------------------------------------------------
    def decrypt_masked(
        self, ciphertext: bytes | str, *, context: Context, kind: str, force: bool = False
    ) -> str:
        """The plaintext masked by ``kind``'s display rule; the service never sends it."""
        (sent,) = _ciphertexts([ciphertext])
        body = {
            "ciphertext": sent,
            "context": _wire_context(context),
            "kind": kind,
            "force": bool(force),
        }
        return self._text("/v1/decrypt-masked", body, "masked", idempotent=True)

    def decrypt_masked_many(
        self,
        ciphertexts: Sequence[bytes | str],
        *,
        context: Context | None = None,
        contexts: Sequence[Context] | None = None,
        kind: str,
        force: bool = False,
    ) -> list[str]:
        """:meth:`decrypt_masked` for many ciphertexts in one request."""
        sent = _ciphertexts(list(ciphertexts))
        wire_contexts = None if contexts is None else [_wire_context(c) for c in contexts]

        def run(start: int, stop: int) -> list[str]:
            body = {
                "ciphertexts": sent[start:stop],
                "context": _wire_context(context),
                "contexts": None if wire_contexts is None else wire_contexts[start:stop],
                "kind": kind,
                "force": bool(force),
            }
            return self._texts("/v1/decrypt-masked/batch", body, "masked", idempotent=True)

        return self._split(len(sent), run, item_errors=True)

    def detokenize_masked(
        self,
        key_name: str,
        token: str,
        *,
        format: object,
        context: Context,
        kind: str | None = None,
        version: int | None = None,
    ) -> str:
        """The value of ``token`` masked by its kind's display rule."""
        body = self._token_body(key_name, format, context, version) | {"token": token, "kind": kind}
        return self._text("/v1/detokenize-masked", body, "masked", idempotent=True)

    def detokenize_masked_many(
        self,
        key_name: str,
        tokens: Sequence[str],
        *,
        format: object,
        context: Context,
        kind: str | None = None,
        version: int | None = None,
    ) -> list[str]:
        """:meth:`detokenize_masked` for many tokens in one request."""
        head = self._token_body(key_name, format, context, version) | {"kind": kind}
        items = list(tokens)

        def run(start: int, stop: int) -> list[str]:
            body = head | {"tokens": items[start:stop]}
            return self._texts("/v1/detokenize-masked/batch", body, "masked", idempotent=True)

        return self._split(len(items), run)

    # -- blind indexes ----------------------------------------------------------------------------
    def _index_body(
        self, key_name: str, context: Context, bits: int, version: object, kind: object
    ) -> dict[str, object]:
        if isinstance(bits, bool) or not isinstance(bits, int):
            raise VaultkitTypeError("bits must be an int")
        return {
            "key": key_name,
            "context": _wire_context(context),
            "bits": bits,
            "version": _version(version),
            "kind": _kind(kind),
        }

    def blind_index(
        self,
        key_name: str,
        value: object,
        *,
        context: Context,
        bits: int,
        version: int | None = None,
        kind: object = None,
    ) -> bytes:
        """Blind index of ``value`` (``kind``: a kind name, a Compound or None)."""
        body = self._index_body(key_name, context, bits, version, kind)
        body["value"] = _index_value(value)
        return base64.b64decode(self._text("/v1/blind-index", body, "index", idempotent=True))

    def blind_index_many(
        self,
        key_name: str,
        values: Sequence[object],
        *,
        context: Context,
        bits: int,
        version: int | None = None,
        kind: object = None,
    ) -> list[bytes]:
        """:meth:`blind_index` for many values in one request."""
        head = self._index_body(key_name, context, bits, version, kind)
        items = [_index_value(v) for v in values]

        def run(start: int, stop: int) -> list[bytes]:
            body = head | {"values": items[start:stop]}
            out = self._texts("/v1/blind-index/batch", body, "indexes", idempotent=True)
            return [base64.b64decode(i) for i in out]

        return self._split(len(items), run)

    def blind_index_candidates(
        self,
        key_name: str,
        value: object,
        *,
        context: Context,
        bits: int,
        kind: object = None,
    ) -> list[bytes]:
        """Blind indexes of ``value`` under every readable version (queries during rotation)."""
        body = self._index_body(key_name, context, bits, None, kind)
        body["value"] = _index_value(value)
        out = self._texts("/v1/blind-index-candidates", body, "indexes", idempotent=True)
        return [base64.b64decode(i) for i in out]

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    def __enter__(self) -> RemoteVault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteVault(url={self.url!r})"


class RemoteKey:
    """A key version's metadata as the service tells it; no material (``material`` refuses)."""

    __slots__ = ("algorithm", "key_id", "name", "state", "version")

    def __init__(
        self, name: str, key_id: int, version: int, algorithm: Algorithm, state: KeyState
    ) -> None:
        self.name = name
        self.key_id = key_id
        self.version = version
        self.algorithm = algorithm
        self.state = state

    @property
    def material(self) -> bytes:
        raise KeyStateError(
            f"key {self.name!r} version {self.version}: key material stays in the key service"
        )

    def __repr__(self) -> str:
        return (
            f"RemoteKey(name={self.name!r}, version={self.version}, "
            f"algorithm={self.algorithm.label}, state={self.state.value})"
        )


class RemoteKeys:
    """The key service's key metadata, shaped as the key ring's (``keys()``, ``key_info``,
    ``primary_key``, ``readable_versions``, ``in``), refreshed at most every 0.25 s; what
    ``vaultkit.ext.sqlalchemy.configure`` and ``reencrypt`` read. Never material."""

    def __init__(self, vault: RemoteVault) -> None:
        self._vault = vault
        self._lock = threading.Lock()
        self._cache: tuple[float, dict[str, KeyInfo]] | None = None

    def _infos(self) -> dict[str, KeyInfo]:
        from vaultkit.keys import KeyInfo, VersionInfo

        with self._lock:
            now = time.monotonic()
            if self._cache is not None and now - self._cache[0] < _METADATA_TTL:
                return self._cache[1]
        data = cast(_WireKeys, self._vault._call("/v1/keys", None, idempotent=True))
        infos = {
            k["name"]: KeyInfo(
                name=k["name"],
                key_id=int(k["key_id"]),
                algorithm=Algorithm.parse(k["algorithm"]),
                created=k["created"],
                versions=tuple(
                    VersionInfo(
                        version=int(v["version"]),
                        state=KeyState(v["state"]),
                        kek_version=None,
                        created=v["created"],
                    )
                    for v in k["versions"]
                ),
            )
            for k in data["keys"]
        }
        with self._lock:
            self._cache = (time.monotonic(), infos)
        return infos

    def keys(self) -> list[KeyInfo]:
        return list(self._infos().values())

    def key_info(self, name: str) -> KeyInfo:
        info = self._infos().get(name)
        if info is None:
            raise KeyNotFoundError(f"no key {name!r} in the key service")
        return info

    def __contains__(self, name: object) -> bool:
        return name in self._infos()

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos())

    def _key(self, info: KeyInfo, version: int) -> RemoteKey:
        for v in info.versions:
            if v.version == version:
                return RemoteKey(info.name, info.key_id, version, info.algorithm, v.state)
        raise KeyNotFoundError(f"no version {version} of key {info.name!r}")

    def primary_key(self, name: str) -> RemoteKey:
        info = self.key_info(name)
        return self._key(info, info.primary_version)

    def key_version(self, name: str, version: int, *, force: bool = False) -> RemoteKey:
        return self._key(self.key_info(name), version)

    def key_by_id(self, key_id: int, version: int, *, force: bool = False) -> RemoteKey:
        for info in self._infos().values():
            if info.key_id == key_id:
                return self._key(info, version)
        raise KeyNotFoundError(f"no key with id {key_id}")

    def readable_versions(self, name: str) -> list[int]:
        """Primary first, then active versions, newest first (as the key ring)."""
        info = self.key_info(name)
        active = sorted(
            (v.version for v in info.versions if v.state is KeyState.ACTIVE), reverse=True
        )
        return [info.primary_version, *active]
