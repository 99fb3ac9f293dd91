"""Monitoring: counts by principal, key, operation or day, and rate alerts (bulk export)."""

from __future__ import annotations

import html
import json
import re
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vaultkit.audit._record import AuditRecord
from vaultkit.errors import InputFormatError

BULK = 1000  # a decrypt or detokenize of at least this many items is a bulk reveal
_REVEALS = frozenset({"decrypt", "detokenize"})
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ALERT = re.compile(r"^\s*([a-z_ .]+?)\s*>\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")


@dataclass(frozen=True)
class Alert:
    """A threshold ``operation>limit/window``: items of ``operation`` by one principal in any
    sliding window of ``seconds``."""

    operation: str
    limit: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Alert:
        """``'decrypt>10000/h'``, ``'detokenize>500/10m'``."""
        m = _ALERT.match(text)
        if m is None:
            raise InputFormatError("an alert is OPERATION>LIMIT/[N]UNIT with UNIT s, m, h or d")
        op, limit, n, unit = m.groups()
        return cls(op.strip(), int(limit), int(n or 1) * _UNITS[unit])

    def __str__(self) -> str:
        return f"{self.operation}>{self.limit}/{self.seconds}s"


def _when(rec: AuditRecord) -> datetime:
    return datetime.fromisoformat(rec.time.replace("Z", "+00:00"))


def parse_since(text: str, now: datetime) -> datetime:
    """``24h``, ``7d``, ``30m`` back from ``now``, or an ISO 8601 date or time (UTC)."""
    m = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if m:
        return now - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputFormatError("--since is a duration (24h, 7d) or an ISO 8601 date") from None
    return when if when.tzinfo else when.replace(tzinfo=now.tzinfo)


def group_key(rec: AuditRecord, by: str) -> str:
    if by == "principal":
        return rec.principal or "(none)"
    if by == "key":
        return rec.key or "(none)"
    if by == "operation":
        return rec.operation
    return rec.time[:10]  # day


def summarize(records: Iterable[AuditRecord], by: str) -> list[dict[str, object]]:
    """One row per group: records, items, denials, errors, bulk reveals."""
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    for rec in records:
        row = rows[group_key(rec, by)]
        row["records"] += 1
        row["items"] += rec.count
        row["denied"] += rec.outcome == "denied"
        row["errors"] += rec.outcome == "error"
        row["bulk_reveals"] += rec.operation in _REVEALS and rec.count >= BULK
    cols = ("records", "items", "denied", "errors", "bulk_reveals")
    return [{by: name, **{c: rows[name][c] for c in cols}} for name in sorted(rows)]


def exceeding(records: Iterable[AuditRecord], alert: Alert) -> dict[str, int]:
    """Principals whose ``alert.operation`` items (successful or not) exceed the limit within
    some window of ``alert.seconds``, with the highest such sum."""
    by: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for rec in records:
        if rec.operation == alert.operation:
            by[rec.principal or "(none)"].append((_when(rec), rec.count))
    out: dict[str, int] = {}
    window = timedelta(seconds=alert.seconds)
    for principal, events in by.items():
        events.sort()
        q: deque[tuple[datetime, int]] = deque()
        total = peak = 0
        for when, n in events:
            q.append((when, n))
            total += n
            while q[0][0] <= when - window:
                total -= q.popleft()[1]
            peak = max(peak, total)
        if peak > alert.limit:
            out[principal] = peak
    return out


def render(rows: list[dict[str, object]], by: str, fmt: str, alerts: dict[str, object]) -> str:
    if fmt == "json":
        return json.dumps({"by": by, "rows": rows, "alerts": alerts}, indent=2, ensure_ascii=False)
    cols = [by, "records", "items", "denied", "errors", "bulk_reveals"]
    if fmt == "html":
        esc = html.escape
        head = "".join(f"<th>{esc(c)}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(str(r[c]))}</td>" for c in cols) + "</tr>" for r in rows
        )
        notes = "".join(f"<li>{esc(str(a))}: {esc(str(p))}</li>" for a, p in alerts.items() if p)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" + (
            f"<ul>{notes}</ul>" if notes else ""
        )
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]).replace("|", "\\|") for c in cols) + " |" for r in rows]
    for a, p in alerts.items():
        if p:
            lines.append(f"\nALERT {a}: {p}")
    return "\n".join(lines)
