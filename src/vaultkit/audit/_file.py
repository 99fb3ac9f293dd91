"""A trail in JSON-lines files: flock for many processes, fsync per batch, rotation.

Layout: the active file ``PATH``, rotated files ``PATH.<last seq, 12 digits>`` (the chain
continues: the first record of a file names the last of the previous one as ``prev``), the
sealed head ``PATH.head`` and the lock file ``PATH.lock`` (``flock``, held for one batch).
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path

from vaultkit.audit._record import GENESIS, parse
from vaultkit.audit._sink import Builder, Header

_ROTATED = re.compile(r"\.(\d{12})$")
_HEAD_SIZE = 256  # SEQ:SM3:KV:SEAL is at most ~160 characters


class FileSink:
    def __init__(self, path: Path, *, max_bytes: int | None, daily: bool) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.daily = daily
        self._lock_path = path.with_name(path.name + ".lock")
        self._head_path = path.with_name(path.name + ".head")
        # (inode, size) of the active file after our last write, with its last (seq, digest,
        # time): another process that appended since changes the size, and we re-read the tail
        self._known: tuple[tuple[int, int], tuple[int, str, str | None]] | None = None

    # -- writing --------------------------------------------------------------------------------
    def append(self, build: Builder, header: Header) -> None:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._append_locked(build, header)
        finally:
            os.close(fd)  # releases the flock

    def _append_locked(self, build: Builder, header: Header) -> None:
        seq, digest, last_time = self._tail()
        records = build(seq, digest, last_time)
        if not records:
            return
        if self._should_rotate(last_time, records[0].time):
            self._rotate(seq)
        data = "".join(r.to_json() + "\n" for r in records).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError("short write to the audit trail")
            os.fsync(fd)  # durable before any caller of this batch returns
            st = os.fstat(fd)
        finally:
            os.close(fd)
        last = records[-1]
        self._known = ((st.st_ino, st.st_size), (last.seq, last.digest, last.time))
        self._write_head(header(last))

    def _write_head(self, value: str) -> None:
        # rewritten in place, one fixed-size block (a single-sector write: no temp file, no
        # rename, no directory update); not fsynced, so after a crash it may lag one batch
        data = (value.ljust(_HEAD_SIZE - 1) + "\n").encode()
        fd = os.open(self._head_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.pwrite(fd, data, 0)
        finally:
            os.close(fd)

    def _should_rotate(self, last_time: str | None, new_time: str) -> bool:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return False
        if size == 0:
            return False
        if self.max_bytes is not None and size >= self.max_bytes:
            return True
        return self.daily and last_time is not None and last_time[:10] != new_time[:10]

    def _rotate(self, last_seq: int) -> None:
        os.replace(self.path, self.path.with_name(f"{self.path.name}.{last_seq:012d}"))
        self._known = None

    def _tail(self) -> tuple[int, str, str | None]:
        """The last stored record's (seq, digest, time), or (0, GENESIS, None) for a new trail."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            st = None
        if st is not None and self._known and self._known[0] == (st.st_ino, st.st_size):
            return self._known[1]
        for file in reversed(self.files()):
            line = _last_line(file)
            if line is not None:
                rec = parse(line)
                return rec.seq, rec.digest, rec.time
        return 0, GENESIS, None

    # -- reading --------------------------------------------------------------------------------
    def files(self) -> list[Path]:
        """Rotated files by their last sequence number, then the active file."""
        rotated = sorted(
            (p for p in self.path.parent.glob(self.path.name + ".*") if _ROTATED.search(p.name)),
            key=lambda p: p.name,
        )
        return [*rotated, self.path] if self.path.exists() else rotated

    def lines(self) -> Iterator[str]:
        for file in self.files():
            with file.open("rb") as fh:
                data = fh.read()
            text = data.decode("utf-8", errors="replace")
            parts = text.split("\n")
            if parts and parts[-1] == "":
                parts.pop()
            yield from parts

    def head(self) -> str | None:
        try:
            return self._head_path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def close(self) -> None:
        self._known = None


def _last_line(file: Path) -> str | None:
    """The last complete line of ``file``. A torn last line (a write cut by a crash, never
    acknowledged: its batch had not been fsynced) is cut off first."""
    try:
        fd = os.open(file, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        chunk = 4096
        while True:
            start = max(0, size - chunk)
            data = os.pread(fd, size - start, start)
            end = data.rfind(b"\n")
            if end == -1 and start > 0:
                chunk *= 2
                continue
            if end + 1 != len(data):  # a torn tail after the last newline
                os.ftruncate(fd, start + end + 1)
                os.fsync(fd)
                data = data[: end + 1]
                size = start + end + 1
            if not data:
                return None
            prev = data.rfind(b"\n", 0, len(data) - 1)
            if prev == -1 and start > 0:
                chunk *= 2
                continue
            return data[prev + 1 : -1].decode()
    finally:
        os.close(fd)
