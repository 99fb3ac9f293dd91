"""How a :class:`vaultkit.remote.RemoteVault` cuts a ``*_many`` call into requests the key
service takes: at most :data:`~vaultkit.service.limits.MAX_ITEMS` values and a body of at most
:data:`~vaultkit.service.limits.MAX_BYTES` bytes each (the service's own limits, imported: it
refuses larger requests with 413).

A batch request's body is a JSON object: the fields every item shares (the key, the context,
the format, ...: the *head*) and one list per item field (*columns*: the plaintexts, the
per-item contexts, ...). Its size is counted as sent: JSON text (the bytes already base64 in
it) encoded as the transport encodes it (:func:`encode_json`). The plan is made before any
request leaves, so a value that cannot be sent at all (alone over the byte limit) is refused
with ``InputFormatError`` before the service has seen any part of the batch. The refusal names
the limit and the item's position, never the value.

Pure Python and no I/O: :mod:`vaultkit._remote.transport` sends the parts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from vaultkit.errors import InputFormatError
from vaultkit.service.limits import MAX_BYTES, MAX_ITEMS

__all__ = ["Columns", "Head", "body_of", "encode_json", "oversized", "plan"]

Head = Mapping[str, object]
# the per-item fields of a batch body: name -> one value per item
Columns = Mapping[str, Sequence[object]]
_SEP = (",", ":")


def encode_json(body: object, *, ascii_only: bool = False) -> bytes:
    """``body`` as the transport sends it: compact JSON in UTF-8; with ``ascii_only`` (or when
    the text holds a lone surrogate, which UTF-8 cannot carry) non-ASCII characters escaped
    (RFC 8259 section 7), which is never shorter than the UTF-8 form."""
    if not ascii_only:
        try:
            return json.dumps(body, ensure_ascii=False, separators=_SEP).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: sent escaped, refused by the service's rule
    return json.dumps(body, separators=_SEP).encode("ascii")


def body_of(head: Head, columns: Columns, start: int, stop: int) -> dict[str, object]:
    """The request body for items ``start:stop``."""
    return {**head, **{name: list(values[start:stop]) for name, values in columns.items()}}


def oversized(limit: int = MAX_BYTES, item: int | None = None) -> InputFormatError:
    """The refusal of a request the service would refuse with 413 (the value never shown)."""
    what = "a request" if item is None else f"item {item} of the batch alone makes a request that"
    return InputFormatError(
        f"{what} is over the key service's body limit of {limit} bytes; it cannot be sent"
    )


def plan(
    head: Head,
    columns: Columns,
    n: int,
    *,
    max_items: int = MAX_ITEMS,
    max_bytes: int = MAX_BYTES,
) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive parts covering items ``0:n`` in order, each of at most
    ``max_items`` items and a body of at most ``max_bytes`` bytes (:func:`encode_json`).

    Each window of ``max_items`` items is encoded once; a window over the byte limit is cut
    where the sizes of its items, measured one by one, reach it (the body's size is the size
    of its head with empty lists plus each item's JSON size and comma). Raises
    ``InputFormatError`` (:func:`oversized`) if one item alone does not fit."""
    parts: list[tuple[int, int]] = []
    start = 0
    while start < n:
        stop = min(n, start + max_items)
        if len(encode_json(body_of(head, columns, start, stop))) > max_bytes:
            stop = _fit(head, columns, start, stop, max_bytes)
        parts.append((start, stop))
        start = stop
    return parts


def _fit(head: Head, columns: Columns, start: int, stop: int, max_bytes: int) -> int:
    """The largest ``end <= stop`` such that items ``start:end`` fit in ``max_bytes``."""
    try:
        return _cut(head, columns, start, stop, max_bytes, ascii_only=False)
    except UnicodeEncodeError:
        # some value needs the escaped form, so a part holding it is sent escaped: measure
        # every value escaped (an upper bound of either form)
        return _cut(head, columns, start, stop, max_bytes, ascii_only=True)


def _cut(
    head: Head, columns: Columns, start: int, stop: int, max_bytes: int, *, ascii_only: bool
) -> int:
    def size(value: object) -> int:
        text = json.dumps(value, ensure_ascii=ascii_only, separators=_SEP)
        return len(text.encode("ascii" if ascii_only else "utf-8"))

    # the body with empty lists, then each item's values, each list's first one without a comma
    total = size(body_of(head, columns, start, start)) - len(columns)
    for i in range(start, stop):
        total += sum(size(values[i]) + 1 for values in columns.values())
        if total > max_bytes:
            if i == start:
                raise oversized(max_bytes, i)
            return i
    return stop
