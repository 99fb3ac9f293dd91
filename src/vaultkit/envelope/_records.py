"""``cut``: the fields of fixed-width records in a buffer, sliced in a few C calls.

The envelope's batch paths that slice one joined buffer into per-item pieces (the batch text
codec, context lengths) share this one slicer. The sealed and opened fields of a batch come out
of hazmat's flat calls, which cut their own output (``hazmat._fast.items``).
"""

from __future__ import annotations

import struct
from functools import lru_cache

__all__ = ["cut"]

_RUN = 1024  # records cut per struct.unpack_from call


@lru_cache(maxsize=32)
def _cutter(record: str) -> struct.Struct:
    return struct.Struct(record * _RUN)


def cut(buf: bytes | bytearray, record: str, width: int, count: int) -> list[bytes]:
    """The fields of ``count`` consecutive ``width``-byte records of ``buf``, each unpacked with
    the struct format ``record`` (``s`` and ``x`` items only), flattened in order: the per-record
    slicing done in C, a run of records per call."""
    out: list[bytes] = []
    whole = count // _RUN
    if whole:
        unpack = _cutter(record).unpack_from
        step = width * _RUN
        for off in range(0, whole * step, step):
            out += unpack(buf, off)
    rest = count - whole * _RUN
    if rest:
        out += struct.unpack_from(record * rest, buf, whole * _RUN * width)
    return out
