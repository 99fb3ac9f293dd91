"""Forward-only I/O under the stream objects (:mod:`vaultkit.stream._writer` encrypts,
:mod:`vaultkit.stream._reader` decrypts): exact reads, whole writes, a chunk buffer reused for
every chunk, and their shared base class.

The stream objects only ever read or write forward (no ``seek``/``tell`` on the underlying
object), so pipes work in both directions, and both hold one round of chunks (at most 256 KiB
of plaintext, or two chunks when chunks are larger) in memory, whatever the stream's size.
"""

from __future__ import annotations

import io
from typing import IO, TYPE_CHECKING

from vaultkit._nopickle import NoPickle
from vaultkit.errors import (
    DecryptionError,
    SignatureError,
    StreamModifiedError,
    StreamTruncatedError,
    VaultkitTypeError,
)
from vaultkit.stream._seal import ChunkCipher

if TYPE_CHECKING:
    pass

__all__ = ["ChunkSource", "StreamBase", "again", "read_exact", "write_all"]


def read_exact(fileobj: IO[bytes], n: int) -> bytes:
    """``n`` bytes from ``fileobj``, fewer only at end of input (pipes return short reads)."""
    data = fileobj.read(n)
    if data is None:
        raise VaultkitTypeError("non-blocking streams are not supported")
    if len(data) == n or not data:
        return bytes(data)
    parts = [data]
    got = len(data)
    while got < n:
        more = fileobj.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class ChunkSource:
    """Reads ``fileobj`` a piece of ``size`` bytes at a time into one buffer reused for every
    piece (``readinto``: no allocation, and a ``BufferedReader`` over a pipe reads straight
    into it). Objects without a working ``readinto`` fall back to ``read``. With ``in_memory``,
    an ``io.BytesIO`` is not copied at all: pieces are views of its content (``getvalue()``
    shares it as an immutable bytes object; a later write to the BytesIO copies it first, not
    this), and its position moves as if read."""

    __slots__ = ("_fileobj", "_memory", "_pos", "_readinto", "_size", "_view")

    def __init__(self, fileobj: IO[bytes], size: int, *, in_memory: bool = False) -> None:
        self._fileobj = fileobj
        self._size = size
        self._memory = (
            memoryview(fileobj.getvalue()) if in_memory and type(fileobj) is io.BytesIO else None
        )
        self._pos = fileobj.tell() if self._memory is not None else 0
        self._view = memoryview(bytearray(0 if self._memory is not None else size))
        self._readinto = getattr(fileobj, "readinto", None)

    def __enter__(self) -> ChunkSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._memory is not None:
            self._fileobj.seek(self._pos)  # where reading would have left it
            self._memory = None

    def read(self) -> memoryview:
        """The next ``size`` bytes, fewer only at end of input; valid until the next call."""
        if self._memory is not None:
            pos = self._pos
            piece = self._memory[pos : pos + self._size]
            self._pos = pos + len(piece)
            return piece
        if self._readinto is not None:
            try:
                return self._fill()
            except NotImplementedError:  # io.RawIOBase subclasses that define only read()
                self._readinto = None
        return memoryview(read_exact(self._fileobj, self._size))

    def _fill(self) -> memoryview:
        assert self._readinto is not None
        view, size = self._view, self._size
        got = self._readinto(view)
        while got is not None and 0 < got < size:  # pipes return short reads
            more = self._readinto(view[got:])
            if not more:
                break
            got += more
        if got is None:
            raise VaultkitTypeError("non-blocking streams are not supported")
        return view if got == size else view[:got]


def write_all(fileobj: IO[bytes], data: bytes | memoryview) -> None:
    """Write all of ``data``: raw files and sockets may take only part of it per call."""
    done = fileobj.write(data)
    if done is None or done == len(data):  # buffered objects take everything (or return None)
        return
    view = memoryview(data)[done:]
    while view:
        done = fileobj.write(view)
        if done is None:
            raise VaultkitTypeError("non-blocking streams are not supported")
        view = view[done:]


class StreamBase(io.BufferedIOBase, NoPickle):
    """What the writer and the reader share: the underlying object, whether to close it, the
    chunk cipher (closed, with its keys, on release)."""

    def __init__(self, fileobj: IO[bytes], *, close_fileobj: bool) -> None:
        super().__init__()
        self._fileobj = fileobj
        self._close_fileobj = close_fileobj
        self._cipher: ChunkCipher | None = None

    def _release(self) -> None:
        if self._cipher is not None:
            self._cipher.close()
            self._cipher = None
        if self._close_fileobj:
            self._fileobj.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} closed={self.closed}>"


def again(failure: Exception) -> Exception:
    """A fresh exception like ``failure`` (no traceback, context or frames kept alive)."""
    if isinstance(failure, SignatureError):
        return SignatureError(str(failure))
    if isinstance(failure, StreamTruncatedError | StreamModifiedError):
        return type(failure)()
    return DecryptionError()
