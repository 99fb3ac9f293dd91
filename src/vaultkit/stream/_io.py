"""File-like stream objects: :class:`StreamWriter` encrypts, :class:`StreamReader` decrypts.

Both only ever read or write forward (no ``seek``/``tell`` on the underlying object), so pipes
work in both directions, and both hold one round of chunks (at most 256 KiB of plaintext, or
two chunks when chunks are larger) in memory, whatever the stream's size.
"""

from __future__ import annotations

import io
from collections.abc import Generator, Iterator
from typing import IO, Any

from vaultkit._nopickle import NoPickle
from vaultkit.errors import DecryptionError, VaultkitTypeError
from vaultkit.stream._format import TAG_SIZE, Header, read_header
from vaultkit.stream._recipients import Identity
from vaultkit.stream._seal import ChunkCipher, FileKeys, unlock

__all__ = ["StreamReader", "StreamWriter", "read_exact", "write_all"]


def read_exact(fileobj: Any, n: int) -> bytes:
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


def write_all(fileobj: Any, data: bytes) -> None:
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


class _Base(io.BufferedIOBase, NoPickle):
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


class StreamWriter(_Base):
    """Encrypts what is written to it into ``fileobj``; :meth:`close` writes the final chunk.

    The header is written at construction. A writer that is never closed, or whose ``with``
    block raised (see :meth:`abort`), leaves a stream without its final chunk, which every
    reader refuses (truncation): a failed backup never passes for a complete one.
    """

    def __init__(
        self, fileobj: IO[bytes], header: Header, keys: FileKeys, *, close_fileobj: bool
    ) -> None:
        super().__init__(fileobj, close_fileobj=close_fileobj)
        self._chunk_size = header.params.chunk_size
        self._cipher = ChunkCipher(header.params, keys, header.core)
        self.batch = self._cipher.batch  # chunks per round (see ChunkCipher)
        self._batch = self.batch * self._chunk_size
        self._pending = bytearray()  # less than one batch of plaintext
        self._index = 0
        try:
            write_all(self._fileobj, header.encode())
        except BaseException:
            self._release()
            raise

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed stream")
        if self._cipher is None:  # the final chunk is written: more data would be dropped
            raise ValueError("write after the final chunk")
        with memoryview(data) as view:
            mv = view.cast("B")
            n, pos = len(mv), 0
            while pos < n:
                take = min(n - pos, self._batch - len(self._pending))
                self._pending += mv[pos : pos + take]
                pos += take
                if len(self._pending) == self._batch:  # a whole number of chunks
                    self.seal_chunks(self._split_pending(), last=False)
        return n

    def _split_pending(self) -> list[bytes]:
        cs = self._chunk_size
        with memoryview(self._pending) as pending:
            chunks = [bytes(pending[i : i + cs]) for i in range(0, len(pending), cs)]
        self._pending.clear()
        return chunks

    def seal_chunks(self, chunks: list[bytes], *, last: bool) -> None:
        """Seal and write the next chunks: full ones, and with ``last`` a final shorter one.

        For ``vaultkit.stream.encrypt``, which reads whole chunks itself; only valid while
        nothing is pending from :meth:`write`.
        """
        if self._cipher is None or self._pending:
            raise ValueError("seal_chunks on a closed writer or with pending data")
        records = self._cipher.seal(self._index, chunks, last)
        self._index += len(chunks)
        if last:
            self._cipher.close()
            self._cipher = None
        for record in records:
            write_all(self._fileobj, record)

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._cipher is not None:
                tail = len(self._pending) % self._chunk_size
                chunks = self._split_pending()
                if tail == 0:  # the final chunk is always shorter than a chunk: add an empty one
                    chunks.append(b"")
                self.seal_chunks(chunks, last=True)
        finally:
            try:
                super().close()  # flushes the file object
            finally:
                self._release()

    def abort(self) -> None:
        """Close without the final chunk: the stream stays truncated, so no reader accepts it
        as complete. What ``with`` does when its block raises."""
        if self._cipher is not None:
            self._cipher.close()
            self._cipher = None
        self._pending.clear()
        self.close()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def flush(self) -> None:
        if not self.closed:
            self._fileobj.flush()


class StreamReader(_Base):
    """Decrypts ``fileobj``; returns plaintext only from chunks that authenticated.

    Raises :class:`~vaultkit.errors.DecryptionError` at the first batch that fails, when the
    final chunk is missing (truncation) and when data follows it (appending); once failed, every
    later read fails too.
    """

    def __init__(
        self,
        fileobj: IO[bytes],
        identities: list[Identity],
        *,
        close_fileobj: bool,
    ) -> None:
        super().__init__(fileobj, close_fileobj=close_fileobj)
        try:
            header = read_header(lambda n: read_exact(fileobj, n))
            _, keys = unlock(header, identities)
        except BaseException:
            self._release()
            raise
        self.header = header
        self._chunk_size = header.params.chunk_size
        self._cipher = ChunkCipher(header.params, keys, header.core)
        self._chunks = self._plaintext()
        self._buffer = b""
        self._offset = 0
        self._failed = False

    def readable(self) -> bool:
        return True

    def _plaintext(self) -> Generator[bytes, None, None]:
        """Plaintext chunk by chunk, each batch only after all its records authenticated."""
        assert self._cipher is not None
        size = self._chunk_size + TAG_SIZE
        count = self._cipher.batch
        index = 0
        while True:
            records: list[bytes] = []
            last = False
            while len(records) < count and not last:
                record = read_exact(self._fileobj, size)
                last = len(record) < size  # only the final chunk is short
                if last and len(record) < TAG_SIZE:  # no final chunk: truncated
                    raise DecryptionError()
                records.append(record)
            yield from self._cipher.open(index, records, last)
            index += len(records)
            if last:
                return

    def _next_chunk(self) -> bytes | None:
        if self._failed:
            raise DecryptionError()
        try:
            return next(self._chunks)
        except StopIteration:
            return None
        except DecryptionError:
            self._failed = True
            raise DecryptionError() from None

    def chunks(self) -> Iterator[bytes]:
        """The remaining plaintext, one chunk at a time (what ``decrypt`` copies)."""
        if self._offset < len(self._buffer):
            yield self._buffer[self._offset :]
        self._buffer, self._offset = b"", 0
        while (chunk := self._next_chunk()) is not None:
            yield chunk

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed stream")
        if size is None or size < 0:
            return b"".join(self.chunks())
        parts = []
        want = size
        while want > 0:
            if self._offset >= len(self._buffer):
                chunk = self._next_chunk()
                if chunk is None:
                    break
                self._buffer, self._offset = chunk, 0
                continue
            piece = self._buffer[self._offset : self._offset + want]
            self._offset += len(piece)
            want -= len(piece)
            parts.append(piece)
        return b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._chunk_size
        if self._offset >= len(self._buffer):
            chunk = self._next_chunk()
            if chunk is None:
                return b""
            self._buffer, self._offset = chunk, 0
        return self.read(min(size, len(self._buffer) - self._offset))

    def readinto(self, buffer: Any) -> int:
        with memoryview(buffer) as view:
            out = view.cast("B")
            data = self.read(len(out))
            out[: len(data)] = data
        return len(data)

    def readinto1(self, buffer: Any) -> int:
        with memoryview(buffer) as view:
            out = view.cast("B")
            data = self.read1(len(out))
            out[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._chunks.close()
            super().close()
        finally:
            self._release()
