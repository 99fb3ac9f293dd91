"""StreamReader: decrypts a stream from a binary file object (format: docs/stream.md),
returning plaintext only from chunks that authenticated; it only reads forward and holds one
round of chunks in memory."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import IO, TYPE_CHECKING

from vaultkit.errors import (
    DecryptionError,
    SignatureError,
    StreamModifiedError,
    StreamTruncatedError,
)
from vaultkit.stream._format import (
    SIGNATURE_BLOCK_SIZE,
    TAG_SIZE,
    decode_signature_block,
    read_header,
)
from vaultkit.stream._io import ChunkSource, StreamBase, again, read_exact
from vaultkit.stream._recipients import Identity
from vaultkit.stream._seal import ChunkCipher, unlock
from vaultkit.stream._signing import ContentDigest, TrustedSigners

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["StreamReader"]


class StreamReader(StreamBase):
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
            raise again(self._failure)
        try:
            return next(self._chunks)
        except StopIteration:
            return None
        except (DecryptionError, SignatureError) as exc:
            self._failure = exc
        raise again(self._failure)  # outside the handler: a fresh error with no chain

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
