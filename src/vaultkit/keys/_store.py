"""Key store file I/O: locked, atomic, size-capped reads and writes.

Writes go to a temp file in the same directory, are fsynced, renamed over the store
(``os.replace``, atomic on POSIX) and the directory is fsynced, so a crash leaves either the old
or the new store, never a half-written one. Writers serialize on ``fcntl.flock`` of a sidecar
``<store>.lock`` file and re-read the store under the lock before changing it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from vaultkit.errors import KeyStoreError

__all__ = ["MAX_STORE_SIZE", "locked", "read_store", "read_store_stamped", "write_atomic"]

MAX_STORE_SIZE = 64 << 20
_LOCK_TIMEOUT = 30.0


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def locked(path: Path, *, timeout: float = _LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``<path>.lock`` (waits up to ``timeout`` seconds)."""
    try:
        fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise KeyStoreError(f"cannot lock key store {path}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise KeyStoreError(f"key store {path} is locked by another writer") from None
                time.sleep(0.01)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def read_store(path: Path) -> bytes:
    return read_store_stamped(path)[0]


def read_store_stamped(path: Path) -> tuple[bytes, tuple[int, int, int]]:
    """The store's bytes and the (inode, mtime_ns, size) of the file they were read from
    (``fstat`` of the open file: a store replaced after the read is not mistaken for it)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_STORE_SIZE + 1)
            st = os.fstat(f.fileno())
    except FileNotFoundError:
        raise KeyStoreError(f"no key store at {path}") from None
    except OSError as exc:
        raise KeyStoreError(f"cannot read key store {path}: {exc.strerror}") from None
    if len(data) > MAX_STORE_SIZE:
        raise KeyStoreError(f"key store {path} is larger than {MAX_STORE_SIZE} bytes")
    return data, (st.st_ino, st.st_mtime_ns, st.st_size)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file, fsync, rename, fsync of the directory."""
    directory = path.parent
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise KeyStoreError(
            f"cannot write key store {path}: {exc.strerror or exc} (the previous store is intact)"
        ) from exc
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as exc:  # the new store is in place; only its directory entry may not be durable
        raise KeyStoreError(
            f"key store {path} was replaced but its directory could not be synced: "
            f"{exc.strerror or exc}"
        ) from exc
