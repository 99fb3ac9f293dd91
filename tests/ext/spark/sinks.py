"""Audit sinks the Spark tests name in ``VaultSpec(audit=...)``: each worker imports this module
and calls the factory (with its open ring) once per Vault it opens. ``counting`` appends one
line per open and per audit event (with its principal and outcome) to
``$VK_SPARK_TEST_DIR/audit.log`` (the directory is set before the JVM starts)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from vaultkit import AuditEvent
from vaultkit.keys import KeyRing


def _log() -> Path:
    return Path(os.environ["VK_SPARK_TEST_DIR"]) / "audit.log"


def _append(line: str) -> None:
    with _log().open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def counting(ring: KeyRing) -> Callable[[AuditEvent], None]:
    pid = os.getpid()
    _append(f"open {pid} {ring.ring_id}")

    def hook(event: AuditEvent) -> None:
        _append(
            f"event {pid} {event.operation} {event.key_name} {event.count} {event.ok} "
            f"{event.principal} {event.outcome}"
        )

    return hook
