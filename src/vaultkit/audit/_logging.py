"""A bridge from the trail to Python ``logging``, so records reach the bank's SIEM."""

from __future__ import annotations

import logging

from vaultkit.audit._record import AuditRecord


class LogBridge:
    """Forward each durable record to ``logger`` (``trail.add_listener(LogBridge(logger))``).

    The message is one line of ``key=value`` fields; the record's fields are also in
    ``extra["vaultkit_audit"]`` for structured handlers. Denials and errors log at WARNING.
    Records hold no values, so nothing sensitive reaches the log.
    """

    def __init__(
        self, logger: logging.Logger | str = "vaultkit.audit", level: int = logging.INFO
    ) -> None:
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = level

    def __call__(self, record: AuditRecord) -> None:
        level = self.level if record.outcome == "ok" else max(self.level, logging.WARNING)
        if not self.logger.isEnabledFor(level):
            return
        self.logger.log(
            level,
            "vaultkit audit seq=%d op=%s key=%s version=%s count=%d outcome=%s principal=%s "
            "host=%s pid=%d",
            record.seq,
            record.operation,
            record.key,
            record.version,
            record.count,
            record.outcome,
            record.principal,
            record.host,
            record.pid,
            extra={"vaultkit_audit": record.fields()},
        )
