"""File-like stream objects: :class:`StreamWriter` encrypts, :class:`StreamReader` decrypts.

Both only ever read or write forward (no ``seek``/``tell`` on the underlying object), so pipes
work in both directions, and both hold one round of chunks (at most 256 KiB of plaintext, or
two chunks when chunks are larger) in memory, whatever the stream's size.
"""

from __future__ import annotations

import io
from collections.abc import Generator, Iterator
from typing import IO, TYPE_CHECKING

from vaultkit._nopickle import NoPickle
from vaultkit.errors import (
    DecryptionError,
    SignatureError,
    StreamModifiedError,
    StreamTruncatedError,
    VaultkitTypeError,
)
from vaultkit.stream._format import (
    SIGNATURE_BLOCK_SIZE,
    TAG_SIZE,
    Header,
    decode_signature_block,
    encode_signature_block,
    read_header,
)
from vaultkit.stream._recipients import Identity
from vaultkit.stream._seal import ChunkCipher, FileKeys, unlock
from vaultkit.stream._signing import ContentDigest, Signer, TrustedSigners, content_message

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["ChunkSource", "StreamReader", "StreamWriter", "read_exact", "write_all"]


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


def _again(failure: Exception) -> Exception:
    """A fresh exception like ``failure`` (no traceback, context or frames kept alive)."""
    if isinstance(failure, SignatureError):
        return SignatureError(str(failure))
    if isinstance(failure, StreamTruncatedError | StreamModifiedError):
        return type(failure)()
    return DecryptionError()


class StreamWriter(_Base):
    """Encrypts what is written to it into ``fileobj``; :meth:`close` writes the final chunk.

    The header is written at construction. A writer that is never closed, or whose ``with``
    block raised (see :meth:`abort`), leaves a stream without its final chunk, which every
    reader refuses (truncation): a failed backup never passes for a complete one. A signed
    (v2) writer writes the content signature block after the final chunk.
    """

    def __init__(
        self,
        fileobj: IO[bytes],
        header: Header,
        keys: FileKeys,
        *,
        close_fileobj: bool,
        signer: Signer | None = None,
    ) -> None:
        super().__init__(fileobj, close_fileobj=close_fileobj)
        if header.params.signed != (signer is not None):
            raise ValueError("a signed header needs its signer")
        self._signer = signer
        self._core = header.core
        self._digest = ContentDigest() if signer is not None else None
        self._chunk_size = header.params.chunk_size
        self.chunk_size = self._chunk_size
        self._cipher = ChunkCipher(header.params, keys, header.core)
        self.batch = self._cipher.batch  # chunks per round (see ChunkCipher)
        self._batch = self.batch * self._chunk_size
        self._pending = bytearray()  # less than one batch of plaintext
        self._index = 0
        self.direct = self._cipher.direct  # chunks sealed one by one into self._out
        self._out = memoryview(bytearray(self._chunk_size + TAG_SIZE if self.direct else 0))
        try:
            write_all(self._fileobj, header.encode())
        except BaseException:
            self._release()
            raise

    def writable(self) -> bool:
        return True

    def write(self, data: Buffer) -> int:
        if self.closed:
            raise ValueError("write to a closed stream")
        if self._cipher is None:  # the final chunk is written: more data would be dropped
            raise ValueError("write after the final chunk")
        with memoryview(data) as view:
            mv = view.cast("B")
            n, pos = len(mv), 0
            cs = self._chunk_size
            while pos < n:
                if self.direct and not self._pending and n - pos >= cs:  # no copy: seal mv
                    self.seal_view(mv[pos : pos + cs], last=False)
                    pos += cs
                    continue
                take = min(n - pos, self._batch - len(self._pending))
                self._pending += mv[pos : pos + take]
                pos += take
                if len(self._pending) == self._batch:  # a whole number of chunks
                    self._seal_pending(last=False)
        return n

    def _seal_pending(self, *, last: bool) -> None:
        """Seal what is pending: a whole batch, or with ``last`` the rest and the final chunk."""
        if not self.direct:
            tail = len(self._pending) % self._chunk_size
            chunks = self._split_pending()
            if last and tail == 0:  # the final chunk is always shorter than a chunk: add one
                chunks.append(b"")
            self.seal_chunks(chunks, last=last)
            return
        # batch 1: a full chunk, or at the end the final (shorter) chunk
        with memoryview(self._pending) as pending:
            self.seal_view(pending, last=last)
        self._pending.clear()

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
        self._emit(records, last)

    def seal_view(self, chunk: memoryview, *, last: bool) -> None:
        """Seal and write one chunk (``direct`` writers only): a full one, or with ``last`` the
        final shorter one. ``chunk`` is only read during the call (the caller reuses it)."""
        cipher, size = self._cipher, len(chunk)
        if cipher is None or not self.direct:
            raise ValueError("seal_view needs an open direct writer")
        if last == (size == self._chunk_size) or size > self._chunk_size:
            raise ValueError("a full chunk is never the final one, a final one is shorter")
        record = cipher.seal_into(self._index, chunk, last, self._out)
        self._index += 1
        if last or self._digest is not None:
            self._emit([record], last)
        else:  # the common case, in as few steps as possible
            write_all(self._fileobj, record)

    def _emit(self, records: list[bytes] | list[memoryview], last: bool) -> None:
        if last and self._cipher is not None:
            self._cipher.close()
            self._cipher = None
        if self._digest is not None:
            self._digest.update([bytes(r) for r in records])
        for record in records:
            write_all(self._fileobj, record)
        if last and self._signer is not None and self._digest is not None:
            message = content_message(self._core, self._digest.finalize())
            write_all(self._fileobj, encode_signature_block(self._signer.sign(message)))

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._cipher is not None:
                self._seal_pending(last=True)
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

    Raises :class:`~vaultkit.errors.StreamTruncatedError` when the input ends before the final
    chunk, :class:`~vaultkit.errors.StreamModifiedError` at the first batch that does not
    authenticate (also when data follows the final chunk), both a
    :class:`~vaultkit.errors.DecryptionError`; once failed, every later read fails too.

    With ``trusted``, the stream must be signed (v2) by one of those keys: an unsigned stream,
    another signer or a bad header signature raise :class:`~vaultkit.errors.SignatureError`
    here, before any plaintext; a bad content signature raises it before the final batch's
    plaintext is returned.
    """

    def __init__(
        self,
        fileobj: IO[bytes],
        identities: list[Identity],
        *,
        close_fileobj: bool,
        trusted: TrustedSigners | None = None,
    ) -> None:
        super().__init__(fileobj, close_fileobj=close_fileobj)
        try:
            header = read_header(lambda n: read_exact(fileobj, n))
            self._signer_key = None if trusted is None else trusted.check_header(header)
            _, keys = unlock(header, identities)
        except BaseException:
            self._release()
            raise
        self.header = header
        self._chunk_size = header.params.chunk_size
        self._cipher = ChunkCipher(header.params, keys, header.core)
        # Unsigned AES-256-GCM streams: each record read into one reused buffer and opened into
        # another (views valid until the next chunk); the rest: one round of bytes at a time.
        direct = self._cipher.direct and not header.params.signed
        self._chunks: Generator[bytes | memoryview, None, None] = (
            self._plaintext_direct() if direct else self._plaintext()
        )
        self._buffer: bytes | memoryview = b""
        self._offset = 0
        self._failure: Exception | None = None

    def readable(self) -> bool:
        return True

    def _plaintext(self) -> Generator[bytes, None, None]:
        """Plaintext chunk by chunk, each batch only after all its records authenticated (and,
        for the final batch of a signed stream, after the content signature verified)."""
        assert self._cipher is not None
        size = self._chunk_size + TAG_SIZE
        signed = self.header.params.signed
        tail = SIGNATURE_BLOCK_SIZE if signed else 0  # what follows the final chunk
        digest = ContentDigest() if signed else None
        count = self._cipher.batch
        index = 0
        pending = b""  # read ahead: the bytes after the last record, at most ``tail``
        end = b""  # the final read: the final chunk and the trailer
        while True:
            records: list[bytes] = []
            last = False
            while len(records) < count and not last:
                data = pending + read_exact(self._fileobj, size + tail - len(pending))
                if len(data) == size + tail:  # a full record, and more follows it
                    records.append(data[:size])
                    pending = data[size:]
                    continue
                last, end = True, data  # input ended: the final chunk (short), the trailer
                if len(data) < TAG_SIZE + tail:  # no final chunk: truncated
                    raise StreamTruncatedError()
                records.append(data[: len(data) - tail])
            if digest is not None:
                digest.update(records)
            try:
                plaintext = self._cipher.open(index, records, last)
            except DecryptionError:
                raise self._failed_batch(index, records, end if last else None) from None
            trailer = end[len(end) - tail :]
            if last and digest is not None:
                signature = decode_signature_block(trailer)
                if signature is None:
                    raise StreamModifiedError()
                if self._signer_key is not None:
                    core = self.header.core
                    TrustedSigners.check_content(
                        self._signer_key, core, digest.finalize(), signature
                    )
            yield from plaintext
            index += len(records)
            if last:
                return

    def _plaintext_direct(self) -> Generator[memoryview, None, None]:
        """Unsigned direct streams: plaintext chunk by chunk, each only after it authenticated.
        A full-size record is never the final chunk (that one is always shorter), so a short
        read marks the final chunk; the end of input right after a full record is a cut."""
        assert self._cipher is not None
        cipher = self._cipher
        source = ChunkSource(self._fileobj, self._chunk_size + TAG_SIZE)
        out = memoryview(bytearray(self._chunk_size))
        full = self._chunk_size + TAG_SIZE
        index = 0
        try:
            while True:
                record = source.read()
                last = len(record) < full
                if last and len(record) < TAG_SIZE:  # no final chunk: truncated
                    raise StreamTruncatedError()
                try:
                    plaintext = cipher.open_into(index, record, last, out)
                except DecryptionError:
                    raise StreamModifiedError() from None
                yield plaintext
                index += 1
                if last:
                    return
        finally:
            out[:] = bytes(len(out))  # no plaintext left in the reused buffer

    def _failed_batch(self, index: int, records: list[bytes], end: bytes | None) -> DecryptionError:
        """Truncated or modified? A signed stream reads its final chunk and trailer as one
        block, so a stream cut at a chunk boundary (ending with a whole non-final chunk) or cut
        before its trailer ends with a block that splits wrongly: try those readings of it, and
        call the stream truncated if one of them authenticates."""
        assert self._cipher is not None
        if end is None or not self.header.params.signed:
            return StreamModifiedError()
        size = self._chunk_size + TAG_SIZE
        before = records[:-1]
        whole, rest = divmod(len(end), size)
        full = [end[i * size : (i + 1) * size] for i in range(whole)]
        readings: list[tuple[list[bytes], bool]] = []
        if rest >= TAG_SIZE:  # whole chunks, the final chunk, no trailer
            readings.append(([*before, *full, end[whole * size :]], True))
        if rest == 0 and full:  # whole non-final chunks, then the end of input
            readings.append(([*before, *full], False))
        for candidate, final in readings:
            try:
                self._cipher.open(index, candidate, final)
            except DecryptionError:
                continue
            return StreamTruncatedError()
        return StreamModifiedError()

    def _next_chunk(self) -> bytes | memoryview | None:
        if self._failure is not None:
            raise _again(self._failure)
        try:
            return next(self._chunks)
        except StopIteration:
            return None
        except (DecryptionError, SignatureError) as exc:
            self._failure = exc
        raise _again(self._failure)  # outside the handler: a fresh error with no chain

    def chunks(self) -> Iterator[bytes]:
        """The remaining plaintext, one chunk at a time."""
        for chunk in self.views():
            yield bytes(chunk)  # a copy only of a view (direct streams); bytes stay as they are

    def views(self) -> Iterator[bytes | memoryview]:
        """The remaining plaintext, one chunk at a time, as bytes or as a view of a buffer the
        reader reuses: valid only until the next chunk is asked for (what ``decrypt`` and
        ``verify`` copy out or count)."""
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
            parts.append(bytes(piece))  # a view's buffer is reused by the next chunk
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

    def readinto(self, buffer: Buffer) -> int:
        with memoryview(buffer) as view:
            out = view.cast("B")
            data = self.read(len(out))
            out[: len(data)] = data
        return len(data)

    def readinto1(self, buffer: Buffer) -> int:
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
