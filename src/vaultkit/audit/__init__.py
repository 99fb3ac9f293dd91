"""A tamper-evident audit trail of key and data access, and monitoring over it.

``Trail.open(target, ring)`` writes sealed, hash-chained records to a JSON-lines file or a
database table; ``Vault(ring, audit=trail)`` records every operation durably before it returns
(fail closed: :class:`~vaultkit.errors.AuditError`). :func:`verify` checks a trail,
:func:`read` reads it for reports, :class:`Alert` and :class:`LogBridge` feed monitoring.
See docs/audit.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from vaultkit.audit._logging import LogBridge
from vaultkit.audit._record import AuditRecord, parse
from vaultkit.audit._report import Alert
from vaultkit.audit._trail import Trail, open_sink
from vaultkit.audit._verify import Verification, verify_sink
from vaultkit.keys import KeyRing

__all__ = ["Alert", "AuditRecord", "LogBridge", "Trail", "Verification", "read", "verify"]


def verify(
    target: str | os.PathLike[str],
    ring: KeyRing,
    *,
    head: str | None = None,
    key_name: str = "vaultkit.audit",
    table: str = "vaultkit_audit",
) -> Verification:
    """Check every record of the trail at ``target`` (all rotated files, in order) and its
    stored head; with ``head`` (a value ``vaultkit audit head`` printed earlier), also that the
    trail still holds that record unchanged."""
    sink = open_sink(target, table=table)
    try:
        return verify_sink(sink, ring, head=head, key_name=key_name)
    finally:
        sink.close()


def read(target: str | os.PathLike[str], *, table: str = "vaultkit_audit") -> Iterator[AuditRecord]:
    """The records of a trail, oldest first, unverified (for reports: run :func:`verify` first
    when their integrity matters). Unreadable lines are skipped."""
    sink = open_sink(target, table=table)
    try:
        for line in sink.lines():
            try:
                yield parse(line)
            except (ValueError, TypeError):
                continue
    finally:
        sink.close()
