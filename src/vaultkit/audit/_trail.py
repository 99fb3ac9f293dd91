"""``Trail``: the audit hook that makes every Vault operation durable before it returns.

Group commit: a caller queues its record and waits; the first waiting caller becomes the writer
for everything queued so far (one lock, one write, one ``fsync`` or one transaction), then hands
the role to the next. A record is durable before its call returns, so a plaintext is never
returned for an unrecorded decrypt; a failed write raises :class:`~vaultkit.errors.AuditError`
in every caller of that batch (fail closed).
"""

from __future__ import annotations

import os
import socket
import threading
import weakref
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaultkit.audit._record import AuditRecord, head_value, make
from vaultkit.audit._sink import Sink
from vaultkit.errors import AuditError, VaultkitError, VaultkitTypeError
from vaultkit.keys import Algorithm, KeyRing

if TYPE_CHECKING:
    from vaultkit.vault import AuditEvent

__all__ = ["DEFAULT_KEY", "Trail", "open_sink"]

DEFAULT_KEY = "vaultkit.audit"
_TRAILS: weakref.WeakSet[Trail] = weakref.WeakSet()


def _after_fork() -> None:
    for trail in list(_TRAILS):
        trail._reset()


os.register_at_fork(after_in_child=_after_fork)


def open_sink(
    target: str | os.PathLike[str],
    *,
    table: str = "vaultkit_audit",
    max_bytes: int | None = None,
    daily: bool = False,
) -> Sink:
    """The storage ``target`` names: a SQLAlchemy URL (``scheme://...``, optionally ending in
    ``#TABLE`` to name the table) or a file path."""
    text = os.fspath(target)
    if "://" in text:
        from vaultkit.audit._sql import SqlSink

        if "#" in text:
            text, table = text.rsplit("#", 1)

        return SqlSink(text, table=table)
    from vaultkit.audit._file import FileSink

    return FileSink(Path(text), max_bytes=max_bytes, daily=daily)


class _Pending:
    __slots__ = ("done", "error", "fields")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.done = False
        self.error: BaseException | None = None


class Trail:
    """A tamper-evident audit trail; pass it as ``Vault(ring, audit=trail)``.

    Open with :meth:`open`. Calling the trail with an :class:`~vaultkit.AuditEvent` appends one
    sealed record and returns only once it is durable; :meth:`hook` gives a hook that records
    another principal; :meth:`record_key_operation` records key-management operations.
    """

    def __init__(self, sink: Sink, ring: KeyRing, *, principal: str | None, key_name: str) -> None:
        self._sink = sink
        self._ring = ring
        self._principal = principal
        self._key_name = key_name
        self._host = socket.gethostname()
        self._listeners: list[Callable[[AuditRecord], None]] = []
        self._reset()
        _TRAILS.add(self)

    def _reset(self) -> None:
        self._mu = threading.Lock()
        self._cond = threading.Condition(self._mu)
        self._queue: list[_Pending] = []
        self._writing = False

    @classmethod
    def open(
        cls,
        target: str | os.PathLike[str],
        ring: KeyRing,
        *,
        principal: str | None = None,
        key_name: str = DEFAULT_KEY,
        table: str = "vaultkit_audit",
        max_bytes: int | None = None,
        daily: bool = False,
    ) -> Trail:
        """A trail at ``target`` (a JSON-lines file path, or a SQLAlchemy URL for a table in
        SQLite or PostgreSQL), sealed with the ring's HMAC-SM3 key ``key_name`` (created on first
        use). Files rotate at ``max_bytes`` and/or each UTC day (``daily``)."""
        if principal is not None and not isinstance(principal, str):
            raise VaultkitTypeError("principal is a str or None")
        if key_name not in ring:
            try:
                ring.create_key(key_name, Algorithm.HMAC_SM3)
            except VaultkitError:
                if key_name not in ring:  # not a race with another process creating it
                    raise
        audit_key(ring, key_name)  # an HMAC-SM3 key, or refused now
        return cls(
            open_sink(target, table=table, max_bytes=max_bytes, daily=daily),
            ring,
            principal=principal,
            key_name=key_name,
        )

    # -- the hook ---------------------------------------------------------------------------------
    def __call__(self, event: AuditEvent) -> None:
        self._record_event(event, self._principal)

    def hook(self, *, principal: str | None) -> Callable[[AuditEvent], None]:
        """A Vault audit hook writing to this trail under ``principal``."""
        return lambda event: self._record_event(event, principal)

    def _record_event(self, event: AuditEvent, principal: str | None) -> None:
        # a future event may carry its own principal and outcome (access grants)
        outcome = getattr(event, "outcome", None) or ("ok" if event.ok else "error")
        self.append(
            operation=event.operation,
            key=event.key_name,
            version=event.version,
            count=event.count,
            context=event.context_keys,
            outcome=outcome,
            principal=getattr(event, "principal", None) or principal,
        )

    def record_key_operation(
        self,
        operation: str,
        key: str | None,
        version: int | None = None,
        *,
        principal: str | None,
        outcome: str = "ok",
    ) -> None:
        """Record a key-management operation (``key create``, ``key rotate``, ``key retire``,
        ``key destroy``, ``kek rotate``, ...) by the operator ``principal``."""
        self.append(
            operation=operation,
            key=key,
            version=version,
            count=1,
            context=(),
            outcome=outcome,
            principal=principal,
        )

    def add_listener(self, listener: Callable[[AuditRecord], None]) -> None:
        """Call ``listener`` with each record once it is durable (e.g. a :class:`LogBridge`)."""
        self._listeners.append(listener)

    # -- group commit -------------------------------------------------------------------------
    def append(
        self,
        *,
        operation: str,
        key: str | None,
        version: int | None,
        count: int,
        context: Iterable[str],
        outcome: str,
        principal: str | None,
    ) -> None:
        """Append one record; returns once it is durable, raises ``AuditError`` otherwise."""
        if outcome not in ("ok", "denied", "error"):
            raise VaultkitTypeError("outcome is 'ok', 'denied' or 'error'")
        mine = _Pending(
            {
                "principal": principal,
                "host": self._host,
                "pid": os.getpid(),
                "operation": str(operation),
                "key": key,
                "version": version,
                "count": int(count),
                "context": tuple(sorted(map(str, context))),
                "outcome": outcome,
            }
        )
        with self._cond:
            self._queue.append(mine)
            while not mine.done and self._writing:
                self._cond.wait()
            if mine.done:
                return self._result(mine)
            self._writing = True
            batch, self._queue = self._queue, []
        error: BaseException | None = None
        written: list[AuditRecord] = []
        try:
            written = self._write(batch)
        except BaseException as exc:  # every caller of the batch fails, none returns data
            error = exc
        with self._cond:
            for p in batch:
                p.done, p.error = True, error
            self._writing = False
            self._cond.notify_all()
        if error is None:
            for listener in self._listeners:
                for record in written:
                    try:
                        listener(record)
                    except Exception:  # noqa: S112 - the trail is the record; a SIEM feed is best effort
                        continue
        return self._result(mine)

    @staticmethod
    def _result(p: _Pending) -> None:
        if p.error is not None:
            # the cause is an OSError or a database error: it names a file or a server, not data
            raise AuditError(
                f"the audit record could not be written ({type(p.error).__name__}): "
                "the operation is refused"
            ) from None

    def _write(self, batch: list[_Pending]) -> list[AuditRecord]:
        kv, key = audit_key(self._ring, self._key_name)
        out: list[AuditRecord] = []

        def build(seq: int, digest: str, _time: str | None) -> list[AuditRecord]:
            out.clear()
            now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            for p in batch:
                seq += 1
                rec = make(key, seq=seq, time=now, prev=digest, kv=kv, **p.fields)
                digest = rec.digest
                out.append(rec)
            return out

        self._sink.append(build, lambda last: head_value(key, kv, last.seq, last.digest))
        return list(out)

    # -- reading ------------------------------------------------------------------------------
    def head(self) -> str | None:
        """The sealed head value (``SEQ:SM3:KV:SEAL``) last stored, for an operator to record."""
        return self._sink.head()

    def close(self) -> None:
        self._sink.close()

    def __enter__(self) -> Trail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Trail(principal={self._principal!r}, key={self._key_name!r})"


def audit_key(ring: KeyRing, name: str, version: int | None = None) -> tuple[int, bytes]:
    """``(version, material)`` of the audit key: the primary version, or ``version`` (any
    state but destroyed, for verifying old records)."""
    from vaultkit.errors import UnsupportedAlgorithmError

    key = ring.primary_key(name) if version is None else ring.key_version(name, version, force=True)
    if key.algorithm is not Algorithm.HMAC_SM3:
        raise UnsupportedAlgorithmError(f"the audit key {name!r} must be HMAC-SM3")
    return key.version, key.material
