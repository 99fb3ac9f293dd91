"""What a blind index is computed over: a value normalized for its kind, or a compound of parts.

Kinds (``kind=`` of :class:`~vaultkit.blindindex.BlindIndexer`):

* ``"text"`` (default): Unicode NFKC (full-width forms folded), surrounding white space removed;
* every kind of the registry :mod:`vaultkit.kinds` with a normalization, under its canonical
  name (an alias such as ``"card"`` gives the same index as ``"card_no"``):
  ``"card_no"``, ``"cn_id"``, ``"mobile"``, ``"uscc"`` (the :mod:`vaultkit.identifiers`
  normalizers, validated: invalid input raises ``InputFormatError``); ``"account_no"`` (digits
  only, spaces and hyphens removed); ``"email"`` (NFKC, stripped, lower case); ``"name"`` (NFKC,
  inner white space collapsed to one space, case folded).

A :class:`Compound` indexes several parts together, e.g. the last 4 digits of a card and a
birth year. Each part accepts either the whole source value or the part itself (``"1234"`` or a
card number for ``card_last4``), so queries can be made from the parts alone.
"""

from __future__ import annotations

import datetime
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from vaultkit import kinds
from vaultkit.errors import InputFormatError, UnsupportedAlgorithmError, VaultkitTypeError
from vaultkit.identifiers import normalize_card, normalize_cn_id, normalize_mobile
from vaultkit.identifiers._free import normalize_account, normalize_text
from vaultkit.identifiers._text import clean

__all__ = ["KINDS", "PARTS", "Compound", "normalize", "normalize_many", "normalize_rows"]

# "text" (no kind) and every kind of the registry with a normalization, by canonical name.
KINDS: Mapping[str, Callable[[str], str]] = MappingProxyType(
    {
        "text": normalize_text,
        **{k.name: k.normalize for k in kinds.KINDS.values() if k.normalize is not None},
    }
)


def _last4(source: Callable[[str], str], kind: str) -> Callable[[str], str]:
    def part(v: str) -> str:
        t = clean(v, separators=True).upper()
        if len(t) == 4 and t.isascii() and t.isalnum():
            return t
        return source(v)[-4:]

    part.__name__ = f"{kind}_last4"
    return part


def _card_bin(v: str) -> str:
    t = clean(v, separators=True)
    return t if len(t) == 6 and t.isascii() and t.isdigit() else normalize_card(v)[:6]


def _birth_date(v: str | datetime.date) -> str:
    if isinstance(v, datetime.date):
        return v.strftime("%Y%m%d")
    t = clean(v, separators=True)
    if len(t) == 8 and t.isascii() and t.isdigit():
        try:
            datetime.date(int(t[:4]), int(t[4:6]), int(t[6:]))
        except ValueError:
            raise InputFormatError("impossible birth date", v, kind="birth_date") from None
        return t
    return normalize_cn_id(v)[6:14]


def _birth_year(v: str | datetime.date | int) -> str:
    if isinstance(v, datetime.date):
        return f"{v.year:04d}"
    if isinstance(v, int) and not isinstance(v, bool):
        v = f"{v:04d}"
    if not isinstance(v, str):
        raise VaultkitTypeError("a birth year is a str, an int or a date")
    t = clean(v, separators=True)
    if len(t) == 4 and t.isascii() and t.isdigit():
        return t
    return normalize_cn_id(v)[6:10]


PARTS: Mapping[str, Callable[..., str]] = MappingProxyType(
    {
        **KINDS,
        "card_bin": _card_bin,
        "card_last4": _last4(normalize_card, "card"),
        "cn_id_last4": _last4(normalize_cn_id, "cn_id"),
        "mobile_last4": _last4(normalize_mobile, "mobile"),
        "account_last4": _last4(normalize_account, "account"),
        "birth_date": _birth_date,
        "birth_year": _birth_year,
    }
)

_U32 = struct.Struct(">I")


class Compound:
    """A compound index over ``parts`` (names from :data:`PARTS`), e.g.
    ``Compound(("card_last4", "birth_year"))``; its value is a tuple with one item per part.

    Encoding (injective): ``u32 count || (u32 len || UTF-8 part)`` for each part in order.
    """

    __slots__ = ("_fns", "parts")

    def __init__(self, parts: Sequence[str]) -> None:
        if isinstance(parts, str) or not parts:
            raise VaultkitTypeError("Compound takes a non-empty tuple of part names")
        unknown = [p for p in parts if p not in PARTS]
        if unknown:
            raise UnsupportedAlgorithmError(
                f"unknown index part {unknown[0]!r}; expected one of {', '.join(PARTS)}"
            )
        self.parts = tuple(parts)
        self._fns = tuple(PARTS[p] for p in self.parts)

    def __repr__(self) -> str:
        return f"Compound({self.parts!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Compound) and other.parts == self.parts

    def __hash__(self) -> int:
        return hash(self.parts)

    @property
    def label(self) -> str:
        return "compound(" + ",".join(self.parts) + ")"

    def encode(self, value: object) -> bytes:
        """The bytes indexed for ``value`` (a tuple with one item per part)."""
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise VaultkitTypeError(f"a {self.label} value is a tuple of {len(self.parts)} items")
        if len(value) != len(self.parts):
            raise VaultkitTypeError(f"a {self.label} value has {len(self.parts)} items")
        out = [_U32.pack(len(self.parts))]
        for fn, item in zip(self._fns, value, strict=True):
            raw = _utf8(fn(item), item, self.label)
            out += (_U32.pack(len(raw)), raw)
        return b"".join(out)


_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates: not encodable as UTF-8


def _utf8(text: str, value: object, kind: str) -> bytes:
    """``text`` (the normal form of ``value``) as UTF-8; a lone surrogate is refused as an
    ``InputFormatError`` before encoding (a ``UnicodeEncodeError``, even as the context of
    another exception, would carry the whole value in ``.object``)."""
    if not text.isascii() and _SURROGATE.search(text):
        shown = _SURROGATE.sub("?", str(value))
        raise InputFormatError("text must be valid Unicode (no lone surrogate)", shown, kind=kind)
    return text.encode("utf-8")


def kind_label(kind: str | Compound | None) -> str:
    """The label of ``kind`` (a canonical kind name of :data:`KINDS`, aliases resolved by
    :func:`vaultkit.kinds.index_kind`, or a compound's label); it goes into the index key."""
    if isinstance(kind, Compound):
        return kind.label
    return kinds.index_kind(kind)


def normalize(kind: str | Compound | None, value: object) -> bytes:
    """The bytes indexed for one ``value`` of ``kind``."""
    if isinstance(kind, Compound):
        return kind.encode(value)
    if isinstance(value, bytes) and kind is None:
        return value
    if not isinstance(value, str):
        raise VaultkitTypeError("blind index values are str (bytes only with kind=None)")
    label = kind_label(kind)
    return _utf8(KINDS[label](value), value, label)


_CONTROL_SPACE = re.compile(rb"[\t-\r\x1c-\x1f]")  # ASCII white space other than " "


def _stripped(raw: bytes, values: Sequence[str]) -> bool:
    """No value of the NUL-joined ASCII batch starts or ends with white space."""
    return not (
        _CONTROL_SPACE.search(raw)
        or b"\x00 " in raw
        or b" \x00" in raw
        or raw.startswith(b" ")
        or raw.endswith(b" ")
    )


# Batch checks that prove every value is already in normal form (the registry's
# ``normal_rows``); ``raw`` is the batch joined with NUL bytes (ASCII, one NUL per gap).
_FAST: Mapping[str, Callable[[bytes, Sequence[str]], bool]] = MappingProxyType(
    {
        "text": _stripped,
        **{k.name: k.normal_rows for k in kinds.KINDS.values() if k.normal_rows is not None},
    }
)


def normalize_many(kind: str | Compound | None, values: Sequence[object]) -> list[bytes]:
    """:func:`normalize` of each value. Batches already in normal form (ASCII text; valid card,
    mobile and account numbers without separators) are checked with whole-batch operations and
    encoded with one join and one split."""
    fast = _FAST.get(kind_label(kind))
    if fast is not None and values:
        try:
            joined = "\x00".join(values)  # type: ignore[arg-type]  # TypeError: not all str
        except TypeError:
            joined = ""
        if joined and joined.isascii():
            raw = joined.encode("ascii")
            strs: Sequence[str] = values  # type: ignore[assignment]
            if raw.count(b"\x00") == len(values) - 1 and fast(raw, strs):
                return raw.split(b"\x00")
    return [normalize(kind, v) for v in values]


def normalize_rows(
    kind: str | Compound | None, values: Sequence[object], *, check_luhn: bool = True
) -> tuple[bytes, int] | None:
    """``(raw, width)`` when the batch is a list or tuple of ASCII str of one length ``width``,
    already in normal form for ``kind``: ``raw`` is the values joined with NUL bytes (value ``i``
    at ``i * (width + 1)``), so ``raw.split(b"\\x00")`` is :func:`normalize_many`. None
    otherwise (then use :func:`normalize_many`). ``check_luhn=False`` leaves the Luhn check of
    card numbers (and their digits) to the caller."""
    fast = _FAST.get(kind_label(kind))
    if fast is None or (type(values) is not list and type(values) is not tuple) or not values:
        return None
    try:
        joined = "\x00".join(values)  # TypeError: not all str
    except TypeError:
        return None
    if not joined.isascii():
        return None
    raw = joined.encode("ascii")
    rows, width = len(values), len(values[0])
    step = width + 1
    # a NUL after every row of `width`, and no other NUL: the rows are exactly the values (for
    # card numbers the caller's check that the rows are digits only stands for the second test)
    if len(raw) != rows * step - 1 or raw[width::step].count(b"\x00") != rows - 1:
        return None
    if kind_label(kind) == "card_no" and not check_luhn:
        return (raw, width) if 12 <= width <= 19 else None
    if raw.count(b"\x00") != rows - 1:
        return None
    return (raw, width) if fast(raw, values) else None
