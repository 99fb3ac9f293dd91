"""StreamWriter: encrypts what is written to it into a binary file object (format:
docs/stream.md); it only writes forward and holds one round of chunks in memory."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from vaultkit.stream._format import (
    TAG_SIZE,
    Header,
    encode_signature_block,
)
from vaultkit.stream._io import StreamBase, write_all
from vaultkit.stream._seal import ChunkCipher, FileKeys
from vaultkit.stream._signing import ContentDigest, Signer, content_message

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["StreamWriter"]


class StreamWriter(StreamBase):
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
