"""Python values <-> plaintext bytes for encrypted columns.

Each supported ``python_type`` has one fixed, documented encoding (docs/sqlalchemy.md, "Value
encodings"): str as UTF-8, bytes as is, JSON as compact sorted UTF-8, int and Decimal as their
canonical text (``str(value)``), date and datetime as ISO 8601 (``isoformat()``). The ORM picks
the codec from the column's ``python_type`` (:func:`codec_for`); a door that only has the value
(``vaultkit reencrypt --from-plaintext``) picks it from the value's type (:func:`encode_value`),
so both encrypt the same bytes. The ciphertext length therefore reveals the text length.
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
from collections.abc import Callable

from vaultkit.errors import InputFormatError, VaultkitTypeError

__all__ = ["Codec", "codec_for", "encode_value"]


# lone surrogates cannot be encoded as UTF-8; refused first, since a UnicodeEncodeError holds
# the whole value (.object)
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_UNICODE = "value must be valid Unicode (no lone surrogate)"


def _utf8(text: str) -> bytes:
    if not text.isascii() and _SURROGATE.search(text):
        raise InputFormatError(_NOT_UNICODE)
    return text.encode("utf-8")


def _enc_str(value: object) -> bytes:
    if not isinstance(value, str):
        raise VaultkitTypeError(f"expected str, got {type(value).__name__}")
    return _utf8(value)


def _dec_str(data: bytes) -> str:
    return data.decode("utf-8")


def _enc_bytes(value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise VaultkitTypeError(f"expected bytes, got {type(value).__name__}")
    return bytes(value)


def _dec_bytes(data: bytes) -> bytes:
    return data


def _enc_int(value: object) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool):
        raise VaultkitTypeError(f"expected int, got {type(value).__name__}")
    return str(value).encode("ascii")


def _dec_int(data: bytes) -> int:
    return int(data.decode("ascii"))


def _enc_decimal(value: object) -> bytes:
    if isinstance(value, int) and not isinstance(value, bool):
        value = decimal.Decimal(value)
    if not isinstance(value, decimal.Decimal) or not value.is_finite():
        raise VaultkitTypeError("expected a finite Decimal")
    return str(value).encode("ascii")


def _dec_decimal(data: bytes) -> decimal.Decimal:
    return decimal.Decimal(data.decode("ascii"))


def _enc_date(value: object) -> bytes:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise VaultkitTypeError(f"expected date, got {type(value).__name__}")
    return value.isoformat().encode("ascii")


def _dec_date(data: bytes) -> datetime.date:
    return datetime.date.fromisoformat(data.decode("ascii"))


def _enc_datetime(value: object) -> bytes:
    if not isinstance(value, datetime.datetime):
        raise VaultkitTypeError(f"expected datetime, got {type(value).__name__}")
    return value.isoformat().encode("ascii")


def _dec_datetime(data: bytes) -> datetime.datetime:
    # accepts "T" (isoformat) and " " (str(datetime)) as the separator
    return datetime.datetime.fromisoformat(data.decode("ascii"))


def _enc_json(value: object) -> bytes:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError):
        raise VaultkitTypeError("value is not JSON-serializable") from None
    return _utf8(text)


def _dec_json(data: bytes) -> object:
    return json.loads(data.decode("utf-8"))


class Codec:
    """The encode/decode pair of one python_type."""

    __slots__ = ("decode", "encode", "name")

    def __init__(
        self, name: str, encode: Callable[[object], bytes], decode: Callable[[bytes], object]
    ) -> None:
        self.name = name
        self.encode = encode
        self.decode = decode


_CODECS: dict[type, Codec] = {
    str: Codec("str", _enc_str, _dec_str),
    bytes: Codec("bytes", _enc_bytes, _dec_bytes),
    int: Codec("int", _enc_int, _dec_int),
    decimal.Decimal: Codec("decimal", _enc_decimal, _dec_decimal),
    datetime.date: Codec("date", _enc_date, _dec_date),
    datetime.datetime: Codec("datetime", _enc_datetime, _dec_datetime),
    dict: Codec("json", _enc_json, _dec_json),
}


def codec_for(python_type: type) -> Codec:
    """The codec of ``python_type``; ``dict`` means any JSON value."""
    try:
        return _CODECS[python_type]
    except KeyError:
        names = ", ".join(t.__name__ for t in _CODECS)
        raise VaultkitTypeError(
            f"unsupported python_type {python_type!r} for Encrypted; expected one of {names}"
        ) from None


# a value's own type -> its codec (a JSON list is a value of python_type=dict too)
_BY_VALUE_TYPE: dict[type, Codec] = {**_CODECS, list: _CODECS[dict]}


def encode_value(value: object) -> bytes:
    """The plaintext of ``value`` when the column's ``python_type`` is not known: the codec of
    the value's own type (the encoding ``Encrypted(python_type=type(value))`` reads back);
    ``bytearray``/``memoryview`` as bytes; any other type as the UTF-8 of its ``str``."""
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    codec = _BY_VALUE_TYPE.get(type(value))
    if codec is not None:
        return codec.encode(value)
    return _utf8(str(value))
