"""Flat buffers: the items of a batch in one buffer, cut by offsets (no per-item objects).

A :class:`FlatBuffer` holds ``count`` items in one ``bytes``: item ``i`` is
``data[offsets[i]:offsets[i + 1]]``, ``offsets`` an ``array('Q')`` of ``count + 1`` non-decreasing
positions inside ``data``. The AEADs' flat forms (``SM4GCM.encrypt_flat`` / ``decrypt_flat``,
also on ``AES256GCM`` and ``AESGCM``) take and give them: the C core reads and writes the
records in place, where the list forms join the items into such a buffer and cut the result
apart again (about 100 ns per item). See docs/primitives.md, "Flat batches".
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import accumulate, islice

from vaultkit.errors import InputFormatError, VaultkitTypeError
from vaultkit.hazmat._args import require_bytes

__all__ = ["FlatBuffer"]

_RUN = 1024  # items cut per struct call when they all have one width
_ZERO = (0,)
_STEPS_CACHED = 1 << 16  # batches up to this many items reuse their equal-width offsets


@lru_cache(maxsize=32)
def _cutter(width: int) -> struct.Struct:
    return struct.Struct(f"{width}s" * _RUN)


def _steps(width: int, count: int) -> array[int]:
    """A new ``array('Q')`` of ``0, width, ..., width * count``: the offsets of ``count`` items
    of ``width`` bytes. Building it from ``range`` costs a Python int per item (about a third of
    a flat batch's Python time); a batch of the shape seen before copies a cached one (memcpy)."""
    if count > _STEPS_CACHED:
        return array("Q", range(0, width * count + 1, width))
    return array("Q", _cached_steps(width, count))


@lru_cache(maxsize=8)
def _cached_steps(width: int, count: int) -> array[int]:
    return array("Q", range(0, width * count + 1, width))  # never handed out: copied


class FlatBuffer:
    """``count`` items in one buffer, cut by ``count + 1`` offsets (see the module).

    ``width`` is the items' common length when they all have one (it lets :meth:`items` cut
    them in C), else None. Construction checks the offsets: ``InputFormatError`` when they are
    not non-decreasing positions inside ``data``.
    """

    __slots__ = ("data", "offsets", "width")

    data: bytes | bytearray
    offsets: array[int]
    width: int | None

    def __init__(self, data: bytes, offsets: Iterable[int]) -> None:
        buf = require_bytes("data", data)
        try:
            offs = array("Q", offsets)  # a copy: the caller's offsets may change later
        except OverflowError:
            raise InputFormatError("flat buffer offsets are positions (>= 0) in data") from None
        except TypeError:
            raise VaultkitTypeError("flat buffer offsets must be integers") from None
        if not offs:
            raise InputFormatError("flat buffer offsets have count + 1 entries (at least one)")
        if offs[-1] > len(buf) or any(map(int.__gt__, offs, islice(offs, 1, None))):
            raise InputFormatError("flat buffer offsets must be non-decreasing and inside data")
        self.data, self.offsets, self.width = buf, offs, _width(offs)

    @classmethod
    def _trusted(
        cls, data: bytes | bytearray, offsets: array[int], width: int | None
    ) -> FlatBuffer:
        """A FlatBuffer whose offsets the caller (the C core, :meth:`join`) vouches for."""
        self = cls.__new__(cls)
        self.data, self.offsets, self.width = data, offsets, width
        return self

    @classmethod
    def join(cls, items: Sequence[bytes]) -> FlatBuffer:
        """The items (bytes, bytearray or memoryview) joined into one buffer."""
        if isinstance(items, bytes | bytearray | memoryview | str) or not isinstance(
            items, Sequence
        ):
            raise VaultkitTypeError("items must be a sequence of bytes")
        try:
            data = b"".join(items)  # any bytes-like item; anything else is a TypeError
        except TypeError:
            raise VaultkitTypeError("items must be bytes") from None
        count = len(items)
        lens = list(map(len, items))  # small ints are shared objects: a list is the cheapest
        width = lens[0] if count and lens.count(lens[0]) == count else None
        if width:
            offsets = _steps(width, count)
        elif width == 0:
            offsets = array("Q", _ZERO) * (count + 1)
        else:
            offsets = array("Q", accumulate(lens, initial=0))
        if len(data) != offsets[-1]:  # len() is not the byte count (a memoryview of wider
            raise VaultkitTypeError("items must be bytes")  # items, a lying bytes subclass)
        return cls._trusted(data, offsets, width)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        n = len(self.offsets) - 1
        if not -n <= i < n:
            raise IndexError("flat buffer index out of range")
        i %= n
        return bytes(self.data[self.offsets[i] : self.offsets[i + 1]])

    def items(self) -> list[bytes]:
        """Every item as its own ``bytes`` (cut in C, a run of equal-width items per call)."""
        offs, data, width = self.offsets, self.data, self.width
        count = len(offs) - 1
        if width is None:
            if type(data) is not bytes:
                data = bytes(data)  # slices of bytes are bytes
            # one int per offset (tolist), and the slice syntax (no slice() or __getitem__
            # calls): 40% fewer instructions than mapping slice objects over the array
            o = offs.tolist()
            return [data[a:b] for a, b in zip(o, islice(o, 1, None), strict=False)]
        if not width:
            return [b""] * count
        out: list[bytes] = []
        start = offs[0]
        whole = count // _RUN
        if whole:
            unpack = _cutter(width).unpack_from
            step = width * _RUN
            for off in range(start, start + whole * step, step):
                out += unpack(data, off)
        rest = count - whole * _RUN
        if rest:
            out += struct.unpack_from(f"{width}s" * rest, data, start + whole * _RUN * width)
        return out

    def __eq__(self, other: object) -> bool:
        """Equal items (however the buffers are laid out around them)."""
        if not isinstance(other, FlatBuffer):
            return NotImplemented
        return self.items() == other.items()

    def __repr__(self) -> str:
        return f"<FlatBuffer: {len(self)} items, {len(self.data)} bytes>"


def _width(offsets: array[int]) -> int | None:
    """The common length of the items, or None."""
    count = len(offsets) - 1
    if count < 1:
        return None
    width = offsets[1] - offsets[0]
    return width if offsets[-1] - offsets[0] == width * count and _even(offsets, width) else None


def _even(offsets: array[int], width: int) -> bool:
    start = offsets[0]
    if width and not start:
        return offsets == _steps(width, len(offsets) - 1)
    return (
        offsets == array("Q", range(start, start + width * len(offsets), width))
        if width
        else (offsets.count(start) == len(offsets))
    )
