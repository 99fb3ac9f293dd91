"""The key service's wire encoding of values, both ways: the one owner the server
(:mod:`vaultkit.service.app`) and its client (:mod:`vaultkit.remote`) import.

The JSON bodies' fields are declared by :mod:`vaultkit.service.models` (the OpenAPI schema);
this module owns how a value travels in them and back:

- bytes: standard base64 with padding (RFC 4648 section 4); where a field takes text or bytes
  (a context value, an index value), bytes are ``{"base64": ...}``;
- plaintexts: as text (``encoding: "utf-8"``) when every one is a str, else all base64;
- ciphertexts: vaultkit's text form (``vk1.`` + base64url of the binary form, docs/envelope.md),
  which either side turns into the binary form and back without a key;
- blind-index kinds: a kind name, or a Compound as the list of its parts; a compound's value
  as a list of str and int;
- search candidates under retired versions: a list of ``{"version", "index"|"token"}``, the
  index in base64, in the Vault's order (:func:`encode_retired`, :func:`decode_retired`);
- key metadata (``GET /v1/keys``): names, ids, algorithms, versions, states, never material;
- errors: ``{"error": {"type", "message"[, "rule", "where"]}}``, the type a
  :mod:`vaultkit.errors` class name (``RequestError``: the body broke the schema).

Pure Python (no pydantic, no httpx): the client loads no server dependency through it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypedDict

from vaultkit import errors
from vaultkit.envelope._format import to_text
from vaultkit.errors import (
    DecryptionError,
    InputFormatError,
    KMSError,
    VaultkitError,
    VaultkitTypeError,
)

if TYPE_CHECKING:
    from vaultkit.blindindex import Compound
    from vaultkit.keys import KeyInfo

# a context as sent: text values as is, bytes values as {"base64": ...}
WireContext = dict[str, "str | dict[str, str]"]


class HasBase64(Protocol):
    """A bytes value as the server's models parse it (``models.Bytes``)."""

    base64: str


class WireVersion(TypedDict):
    version: int
    state: str
    created: str


class WireKey(TypedDict):
    name: str
    key_id: int
    algorithm: str
    created: str
    versions: list[WireVersion]


# -- bytes -------------------------------------------------------------------------------------
def b64(data: bytes | bytearray | memoryview) -> str:
    """Standard base64 with padding (RFC 4648 section 4)."""
    return base64.b64encode(bytes(data)).decode("ascii")


def decode_b64(text: str, what: str) -> bytes:
    """Standard base64 with padding; ``InputFormatError`` naming ``what`` otherwise."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputFormatError(f"{what} is not valid base64") from None


# -- contexts ----------------------------------------------------------------------------------
def encode_context(context: Mapping[str, str | bytes] | None) -> WireContext | None:
    """A context as sent; ``VaultkitTypeError`` for what a Vault would not take either."""
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
            out[key] = {"base64": b64(value)}
        else:
            raise VaultkitTypeError(f"context value for {key!r} must be str or bytes")
    return out


def decode_context(context: Mapping[str, str | HasBase64]) -> dict[str, str | bytes]:
    """A context as received, as the Vault takes it."""
    return {
        k: v if isinstance(v, str) else decode_b64(v.base64, "a context value")
        for k, v in context.items()
    }


# -- plaintexts and ciphertexts ----------------------------------------------------------------
def encode_plaintexts(values: Sequence[bytes | str]) -> tuple[list[str], str]:
    """The plaintexts as sent, and their ``encoding`` (all text: as is; else all base64)."""
    if all(isinstance(v, str) for v in values):
        return list(values), "utf-8"  # type: ignore[arg-type]
    out = []
    for v in values:
        if isinstance(v, str):
            from vaultkit._facade.plaintexts import as_bytes

            out.append(b64(as_bytes(v)))
        elif isinstance(v, bytes | bytearray | memoryview):
            out.append(b64(v))
        else:
            raise VaultkitTypeError("a plaintext is bytes or str")
    return out, "base64"


def decode_plaintext(text: str, encoding: str) -> str | bytes:
    """A plaintext as received in ``encoding`` (``utf-8``: text; ``base64``: bytes)."""
    return text if encoding == "utf-8" else decode_b64(text, "plaintext")


def encode_ciphertexts(values: Sequence[bytes | str]) -> list[str]:
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


# -- blind-index kinds and values --------------------------------------------------------------
def encode_kind(kind: object) -> str | list[str] | None:
    """A kind name or None as is; a :class:`vaultkit.blindindex.Compound` as its parts."""
    if kind is None or isinstance(kind, str):
        return kind
    parts = getattr(kind, "parts", None)  # a blindindex.Compound
    if isinstance(parts, tuple):
        return list(parts)
    raise VaultkitTypeError("kind is a kind name, a Compound or None")


def decode_kind(kind: str | list[str] | None) -> str | Compound | None:
    if isinstance(kind, list):
        from vaultkit.blindindex import Compound

        return Compound(tuple(kind))
    return kind


def encode_index_value(value: object) -> str | dict[str, str] | list[object]:
    """An index value as sent: str; bytes as ``{"base64": ...}``; a compound's tuple as a list
    (of str and int items)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": b64(value)}
    if isinstance(value, tuple | list) and all(
        isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in value
    ):
        return list(value)
    raise VaultkitTypeError(
        "a RemoteVault indexes str or bytes, or a tuple of str and int for a Compound"
    )


def decode_index_value(value: str | HasBase64 | list[str | int]) -> object:
    """An index value as received, as the Vault takes it (a compound's list as a tuple)."""
    if isinstance(value, list):
        return tuple(value)
    return value if isinstance(value, str) else decode_b64(value.base64, "an index value")


# -- key metadata ------------------------------------------------------------------------------
def encode_keys(infos: Sequence[KeyInfo]) -> list[WireKey]:
    """The metadata of ``infos`` as ``GET /v1/keys`` answers it (no KEK version, no material)."""
    return [
        {
            "name": k.name,
            "key_id": k.key_id,
            "algorithm": k.algorithm.label,
            "created": k.created,
            "versions": [
                {"version": v.version, "state": v.state.value, "created": v.created}
                for v in k.versions
            ],
        }
        for k in infos
    ]


def decode_keys(keys: Sequence[WireKey]) -> dict[str, KeyInfo]:
    """The answer of ``GET /v1/keys`` as the key ring's :class:`vaultkit.keys.KeyInfo`, by name."""
    from vaultkit.keys import Algorithm, KeyInfo, KeyState, VersionInfo

    return {
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
        for k in keys
    }


# -- search candidates under retired versions ----------------------------------------------------
class WireRetired(TypedDict, total=False):
    version: int
    index: str  # base64
    token: str


def encode_retired(pairs: Sequence[tuple[int, bytes | str]]) -> list[WireRetired]:
    """``Vault.retired_index_candidates`` (``index``, base64) or
    ``retired_token_candidates`` (``token``) as sent, in order."""
    out: list[WireRetired] = []
    for version, stored in pairs:
        if isinstance(stored, str):
            out.append({"version": version, "token": stored})
        else:
            out.append({"version": version, "index": b64(stored)})
    return out


def decode_retired_indexes(items: Sequence[WireRetired]) -> list[tuple[int, bytes]]:
    """The answer of ``/v1/retired-index-candidates`` as ``(version, index)`` pairs."""
    return [(int(i["version"]), decode_b64(i["index"], "a retired index")) for i in items]


def decode_retired_tokens(items: Sequence[WireRetired]) -> list[tuple[int, str]]:
    """The answer of ``/v1/retired-token-candidates`` as ``(version, token)`` pairs."""
    return [(int(i["version"]), str(i["token"])) for i in items]


# -- errors ------------------------------------------------------------------------------------
def encode_error(kind: str, message: str, **extra: str | None) -> dict[str, dict[str, str]]:
    """An error answer's body: the error's class name, its (safe) message, and ``extra``
    attributes that are set (``rule``, ``where``)."""
    body = {"type": kind, "message": message, **{k: v for k, v in extra.items() if v is not None}}
    return {"error": body}


def decode_error(status: int, body: object, url: str) -> VaultkitError:
    """The exception an error answer names, as the in-process Vault raises it."""
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
