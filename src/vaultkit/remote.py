"""``RemoteVault``: the :class:`vaultkit.Vault` API over the key service (``vaultkit serve``).

The same methods, arguments and exceptions as the in-process Vault, answered by the key service,
so the application process holds no key material: a DEK never leaves the service, only
ciphertexts, tokens, indexes and the plaintexts the caller's grants allow. One pooled HTTP/1.1
keep-alive client (httpx) per RemoteVault, safe to share between threads. Idempotent operations
(decrypt, tokenize, detokenize, blind indexes, key metadata) are retried on a transport failure
or a 503; ``encrypt`` only when the request never left (a connection refused), since a second
encryption is a different ciphertext. Batches over the service's limits (10,000 items, a body
of 8 MiB) are sent in parts, in order, all or nothing for the caller (the first part refused
raises; :mod:`vaultkit._remote.transport`); a single value too large for any request is refused
with ``InputFormatError`` before anything is sent. See docs/keyservice.md.

This module is one thing, the Vault's methods mirrored one by one (each builds its request body
and reads its answer; ``tests/service/test_api.py`` checks the class defines every Vault method
with the same arguments), hence above 400 lines. The rest has its own owner: the values' wire
encoding is the service's (:mod:`vaultkit.service._wire`, which the server imports too), the
connections, retries and batch splitting are :mod:`vaultkit._remote.transport`, the key
metadata view :mod:`vaultkit._remote.keys`."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from typing import cast

from vaultkit._nopickle import NoPickle
from vaultkit._remote.keys import RemoteKeys
from vaultkit._remote.transport import Transport
from vaultkit.envelope._format import as_binary
from vaultkit.errors import VaultkitTypeError
from vaultkit.service._wire import (
    WireRetired,
    decode_retired_indexes,
    decode_retired_tokens,
    encode_ciphertexts,
    encode_context,
    encode_index_value,
    encode_kind,
    encode_plaintexts,
)

__all__ = ["RemoteKeys", "RemoteVault"]

ENV_SERVER = "VAULTKIT_SERVER"
ENV_TOKEN = "VAULTKIT_TOKEN"  # noqa: S105 - the variable's name, not a secret
ENV_SERVER_CA = "VAULTKIT_SERVER_CA"
ENV_CLIENT_CERT = "VAULTKIT_CLIENT_CERT"

Context = Mapping[str, "str | bytes"]


def _format(format: object) -> str:
    if not isinstance(format, str):
        raise VaultkitTypeError("a RemoteVault takes token formats by name (a str)")
    return format


def _version(version: object) -> int | None:
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise VaultkitTypeError("version must be an int or None")
    return version


def _columns(
    name: str, values: list[str], contexts: Sequence[Context] | None, head: dict[str, object]
) -> dict[str, Sequence[object]]:
    """A batch's per-item fields: ``values`` under ``name``, and per-item contexts if given
    (else ``contexts: null`` joins the shared ``head``)."""
    if contexts is None:
        head["contexts"] = None
        return {name: values}
    return {name: values, "contexts": [encode_context(c) for c in contexts]}


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

    __slots__ = ("__weakref__", "_keys", "_transport", "url")

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
        self.url = url.rstrip("/")
        self._transport = Transport(
            self.url,
            token=token,
            client_cert=client_cert,
            ca=ca,
            timeout=timeout,
            retries=retries,
            max_connections=max_connections,
        )
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

    # -- encryption -------------------------------------------------------------------------------
    def encrypt(self, key_name: str, plaintext: bytes | str, *, context: Context) -> bytes:
        """Binary field ciphertext of ``plaintext`` under the primary version of ``key_name``."""
        return as_binary(self.encrypt_text(key_name, plaintext, context=context))

    def encrypt_text(self, key_name: str, plaintext: bytes | str, *, context: Context) -> str:
        """Like :meth:`encrypt`, in the ASCII text form ``vk1.<base64url>``."""
        (sent,), encoding = encode_plaintexts([plaintext])
        body = {
            "key": key_name,
            "plaintext": sent,
            "encoding": encoding,
            "context": encode_context(context),
        }
        return self._transport.text("/v1/encrypt", body, "ciphertext", idempotent=False)

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
        sent, encoding = encode_plaintexts(list(plaintexts))
        head: dict[str, object] = {
            "key": key_name,
            "encoding": encoding,
            "context": encode_context(context),
        }
        columns = _columns("plaintexts", sent, contexts, head)
        return self._transport.batch(
            "/v1/encrypt/batch", head, columns, "ciphertexts", idempotent=False
        )

    # -- decryption -------------------------------------------------------------------------------
    def _decrypt(self, ciphertext: bytes | str, context: Context, force: bool, enc: str) -> str:
        (sent,) = encode_ciphertexts([ciphertext])
        body = {
            "ciphertext": sent,
            "context": encode_context(context),
            "force": bool(force),
            "encoding": enc,
        }
        return self._transport.text("/v1/decrypt", body, "plaintext", idempotent=True)

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
        head: dict[str, object] = {
            "context": encode_context(context),
            "force": bool(force),
            "encoding": enc,
        }
        columns = _columns("ciphertexts", encode_ciphertexts(list(ciphertexts)), contexts, head)
        return self._transport.batch(
            "/v1/decrypt/batch", head, columns, "plaintexts", idempotent=True, item_errors=True
        )

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
            "context": encode_context(context),
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
        return self._transport.text("/v1/tokenize", body, "token", idempotent=True)

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
        return self._transport.text("/v1/detokenize", body, "value", idempotent=True)

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
        columns = {"values": list(values)}
        return self._transport.batch("/v1/tokenize/batch", head, columns, "tokens", idempotent=True)

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
        columns = {"tokens": list(tokens)}
        return self._transport.batch(
            "/v1/detokenize/batch", head, columns, "values", idempotent=True
        )

    def retired_token_candidates(
        self, key_name: str, values: Sequence[str], *, format: object, context: Context
    ) -> list[tuple[int, str]]:
        """``(version, token)`` of each of ``values`` under each retired version of the key,
        version by version (a search's refusal check; never for writing)."""
        head = self._token_body(key_name, format, context, None)
        out = self._transport.batch_items(
            "/v1/retired-token-candidates",
            head,
            {"values": list(values)},
            "candidates",
            idempotent=True,
        )
        # parts of a large batch joined version by version, as the Vault orders them
        pairs = decode_retired_tokens(cast("list[WireRetired]", out))
        return sorted(pairs, key=lambda pair: pair[0])

    # -- masked reveal -------------------------------------------------------------------------
    def decrypt_masked(
        self, ciphertext: bytes | str, *, context: Context, kind: str, force: bool = False
    ) -> str:
        """The plaintext masked by ``kind``'s display rule; the service never sends it."""
        (sent,) = encode_ciphertexts([ciphertext])
        body = {
            "ciphertext": sent,
            "context": encode_context(context),
            "kind": kind,
            "force": bool(force),
        }
        return self._transport.text("/v1/decrypt-masked", body, "masked", idempotent=True)

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
        head: dict[str, object] = {
            "context": encode_context(context),
            "kind": kind,
            "force": bool(force),
        }
        columns = _columns("ciphertexts", encode_ciphertexts(list(ciphertexts)), contexts, head)
        return self._transport.batch(
            "/v1/decrypt-masked/batch", head, columns, "masked", idempotent=True, item_errors=True
        )

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
        return self._transport.text("/v1/detokenize-masked", body, "masked", idempotent=True)

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
        columns = {"tokens": list(tokens)}
        return self._transport.batch(
            "/v1/detokenize-masked/batch", head, columns, "masked", idempotent=True
        )

    # -- blind indexes ----------------------------------------------------------------------------
    def _index_body(
        self, key_name: str, context: Context, bits: int, version: object, kind: object
    ) -> dict[str, object]:
        if isinstance(bits, bool) or not isinstance(bits, int):
            raise VaultkitTypeError("bits must be an int")
        return {
            "key": key_name,
            "context": encode_context(context),
            "bits": bits,
            "version": _version(version),
            "kind": encode_kind(kind),
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
        body["value"] = encode_index_value(value)
        return base64.b64decode(
            self._transport.text("/v1/blind-index", body, "index", idempotent=True)
        )

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
        columns = {"values": [encode_index_value(v) for v in values]}
        out = self._transport.batch(
            "/v1/blind-index/batch", head, columns, "indexes", idempotent=True
        )
        return [base64.b64decode(i) for i in out]

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
        body["value"] = encode_index_value(value)
        out = self._transport.texts("/v1/blind-index-candidates", body, "indexes", idempotent=True)
        return [base64.b64decode(i) for i in out]

    def retired_index_candidates(
        self,
        key_name: str,
        value: object,
        *,
        context: Context,
        bits: int,
        kind: object = None,
    ) -> list[tuple[int, bytes]]:
        """``(version, index)`` of ``value`` under each retired version of the key (a
        search's refusal check; never for writing)."""
        body = self._index_body(key_name, context, bits, None, kind)
        body["value"] = encode_index_value(value)
        out = self._transport.field(
            "/v1/retired-index-candidates", body, "candidates", idempotent=True
        )
        return decode_retired_indexes(cast("list[WireRetired]", out))

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the pooled connections."""
        self._transport.close()

    def __enter__(self) -> RemoteVault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteVault(url={self.url!r})"
