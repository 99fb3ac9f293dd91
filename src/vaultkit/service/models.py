"""The key service's JSON bodies (pydantic models): what each endpoint takes and returns.

The fields are declared here; how a value travels in them (base64, contexts, index values,
kinds, key metadata, errors) is :mod:`vaultkit.service._wire`, which the client imports too.
Models are strict (no coercion: ``"1"`` is not a version) and refuse unknown fields, so a
misspelt option is a 400 naming it rather than silently ignored. The committed OpenAPI schema
(docs/keyservice-openapi.json) is generated from these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from vaultkit.service._wire import decode_b64, decode_context

__all__ = [
    "BlindIndexBatchRequest",
    "BlindIndexRequest",
    "Bytes",
    "CiphertextResponse",
    "CiphertextsResponse",
    "Context",
    "DecryptBatchRequest",
    "DecryptMaskedBatchRequest",
    "DecryptMaskedRequest",
    "DecryptRequest",
    "DetokenizeBatchRequest",
    "DetokenizeMaskedBatchRequest",
    "DetokenizeMaskedRequest",
    "DetokenizeRequest",
    "EncryptBatchRequest",
    "EncryptRequest",
    "ErrorBody",
    "ErrorResponse",
    "IndexResponse",
    "IndexesResponse",
    "KeyInfoModel",
    "KeysResponse",
    "MaskedBatchResponse",
    "MaskedResponse",
    "PlaintextResponse",
    "PlaintextsResponse",
    "RetiredIndexModel",
    "RetiredIndexesResponse",
    "RetiredTokenModel",
    "RetiredTokensResponse",
    "TokenResponse",
    "TokenizeBatchRequest",
    "TokenizeRequest",
    "TokensResponse",
    "ValueResponse",
    "ValuesResponse",
    "VersionInfoModel",
    "decode_b64",
    "maybe_context",
    "to_context",
]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Bytes(_Strict):
    """A bytes value: ``{"base64": "..."}``."""

    base64: str


Context = dict[str, str | Bytes]
Encoding = Literal["utf-8", "base64"]


def to_context(context: Context) -> dict[str, str | bytes]:
    """A wire context as the Vault takes it (:func:`vaultkit.service._wire.decode_context`)."""
    return decode_context(context)


# -- requests ------------------------------------------------------------------------------------
class EncryptRequest(_Strict):
    key: str
    plaintext: str
    encoding: Encoding = "utf-8"  # how ``plaintext`` is given: text, or base64 of bytes
    context: Context


class EncryptBatchRequest(_Strict):
    key: str
    plaintexts: list[str]
    encoding: Encoding = "utf-8"
    context: Context | None = None  # one for every item, or
    contexts: list[Context] | None = None  # one per item


class DecryptRequest(_Strict):
    ciphertext: str  # text form
    context: Context
    force: bool = False
    encoding: Encoding = "base64"  # how the plaintext is returned ("utf-8": decrypt_text)


class DecryptBatchRequest(_Strict):
    ciphertexts: list[str]
    context: Context | None = None
    contexts: list[Context] | None = None
    force: bool = False
    encoding: Encoding = "base64"


class TokenizeRequest(_Strict):
    key: str
    value: str
    format: str
    context: Context
    version: int | None = None


class TokenizeBatchRequest(_Strict):
    key: str
    values: list[str]
    format: str
    context: Context
    version: int | None = None


class DetokenizeRequest(_Strict):
    key: str
    token: str
    format: str
    context: Context
    version: int | None = None


class DetokenizeBatchRequest(_Strict):
    key: str
    tokens: list[str]
    format: str
    context: Context
    version: int | None = None


class DecryptMaskedRequest(_Strict):
    ciphertext: str
    context: Context
    kind: str  # the masking rule (a kind name: "name", "cn_id", "card_no", ...)
    force: bool = False


class DecryptMaskedBatchRequest(_Strict):
    ciphertexts: list[str]
    context: Context | None = None
    contexts: list[Context] | None = None
    kind: str
    force: bool = False


class DetokenizeMaskedRequest(_Strict):
    key: str
    token: str
    format: str
    context: Context
    kind: str | None = None  # default: the kind the format names
    version: int | None = None


class DetokenizeMaskedBatchRequest(_Strict):
    key: str
    tokens: list[str]
    format: str
    context: Context
    kind: str | None = None
    version: int | None = None


IndexValue = str | Bytes | list[str | int]  # bytes: kind null only; a list: a compound's parts
Kind = str | list[str] | None  # a kind name, or the parts of a Compound


class BlindIndexRequest(_Strict):
    key: str
    value: IndexValue
    context: Context
    bits: int
    version: int | None = None
    kind: Kind = None


class BlindIndexBatchRequest(_Strict):
    key: str
    values: list[IndexValue]
    context: Context
    bits: int
    version: int | None = None
    kind: Kind = None


# -- responses -----------------------------------------------------------------------------------
class CiphertextResponse(_Strict):
    ciphertext: str


class CiphertextsResponse(_Strict):
    ciphertexts: list[str]


class PlaintextResponse(_Strict):
    plaintext: str


class PlaintextsResponse(_Strict):
    plaintexts: list[str]


class TokenResponse(_Strict):
    token: str


class TokensResponse(_Strict):
    tokens: list[str]


class ValueResponse(_Strict):
    value: str


class ValuesResponse(_Strict):
    values: list[str]


class MaskedResponse(_Strict):
    masked: str


class MaskedBatchResponse(_Strict):
    masked: list[str]


class IndexResponse(_Strict):
    index: str  # base64


class IndexesResponse(_Strict):
    indexes: list[str]  # base64


class RetiredIndexModel(_Strict):
    version: int
    index: str  # base64


class RetiredIndexesResponse(_Strict):
    candidates: list[RetiredIndexModel]


class RetiredTokenModel(_Strict):
    version: int
    token: str


class RetiredTokensResponse(_Strict):
    candidates: list[RetiredTokenModel]


class VersionInfoModel(_Strict):
    version: int
    state: str
    created: str


class KeyInfoModel(_Strict):
    name: str
    key_id: int
    algorithm: str
    created: str
    versions: list[VersionInfoModel]


class KeysResponse(_Strict):
    keys: list[KeyInfoModel]


class ErrorBody(_Strict):
    type: str  # the vaultkit.errors class name (RequestError: the body broke the schema)
    message: str  # safe by construction: names the rule, never a value
    rule: str | None = None
    where: str | None = None


class ErrorResponse(_Strict):
    error: ErrorBody


def maybe_context(context: Context | None) -> dict[str, str | bytes] | None:
    """:func:`to_context`, None for None (a batch's shared context when it has one per item)."""
    return None if context is None else to_context(context)
