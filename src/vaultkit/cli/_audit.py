"""``vaultkit audit verify | head | report``: check and monitor a tamper-evident audit trail.

TARGET is a JSON-lines trail file or a SQLAlchemy URL (``...#TABLE`` names the table; put
passwords in ``PGPASSWORD``, not argv). ``verify`` exits 1 naming the first bad sequence
number; ``report --alert`` exits 1 naming the principals above a threshold. See docs/audit.md.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from vaultkit.cli._common import EXIT_FINDINGS, CliError, keyring_option
from vaultkit.cli._credentials import open_ring

__all__ = ["audit"]


@click.group()
def audit() -> None:
    """Verify, print the head of, and report on a tamper-evident audit trail."""


@audit.command()
@click.argument("target")
@keyring_option
@click.option("--head", "head", help="A head value printed earlier by `vaultkit audit head`.")
def verify(target: str, keyring: Path, head: str | None) -> None:
    """Check every record's seal and chain, and the head (exit 1 naming the first bad record)."""
    from vaultkit.audit import verify as run

    _exists(target)
    with open_ring(keyring) as ring:
        result = run(target, ring, head=head)
    if result.ok:
        click.echo(f"intact: {result.count} records, last sequence number {result.last_seq}")
        return
    click.echo(f"TAMPERED at sequence number {result.first_bad}: {result.reason}", err=True)
    sys.exit(EXIT_FINDINGS)


def _exists(target: str) -> None:
    """A file target must exist (a typo would otherwise verify as an empty, intact trail)."""
    if "://" not in target and not Path(target).exists():
        raise CliError(f"no audit trail at {target}")


@audit.command()
@click.argument("target")
def head(target: str) -> None:
    """Print the trail's sealed head (SEQ:SM3:KV:SEAL) for an operator to record elsewhere."""
    from vaultkit.audit._trail import open_sink

    _exists(target)
    sink = open_sink(target)
    try:
        value = sink.head()
    finally:
        sink.close()
    if value is None:
        raise CliError("the trail has no head yet (no record written)")
    click.echo(value)


@audit.command()
@click.argument("target")
@click.option("--since", help="Only records since a duration ago (24h, 7d) or an ISO 8601 date.")
@click.option(
    "--by",
    type=click.Choice(["principal", "key", "operation", "day"]),
    default="principal",
    show_default=True,
    help="Group the counts by.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["md", "json", "html"]), default="md", show_default=True
)
@click.option(
    "--alert",
    "alerts",
    multiple=True,
    help="Threshold OPERATION>LIMIT/[N]UNIT (e.g. 'decrypt>10000/h'): exit 1 when exceeded.",
)
def report(target: str, since: str | None, by: str, fmt: str, alerts: tuple[str, ...]) -> None:
    """Count records, items, denials and bulk reveals, and check rate alerts (exit 1 if any)."""
    from vaultkit.audit import Alert, read
    from vaultkit.audit._report import exceeding, parse_since, render, summarize
    from vaultkit.errors import VaultkitError

    _exists(target)
    try:
        parsed = [Alert.parse(a) for a in alerts]
        start = parse_since(since, datetime.now(timezone.utc)) if since else None
    except VaultkitError as exc:
        raise CliError(str(exc)) from None
    records = [
        r
        for r in read(target)
        if start is None or datetime.fromisoformat(r.time.replace("Z", "+00:00")) >= start
    ]
    hits = {str(a): exceeding(records, a) for a in parsed}
    click.echo(render(summarize(records, by), by, fmt, {a: h for a, h in hits.items()}))
    exceeded = {a: h for a, h in hits.items() if h}
    for a, h in exceeded.items():
        names = ", ".join(f"{p} ({n})" for p, n in sorted(h.items()))
        click.echo(f"alert {a} exceeded by: {names}", err=True)
    if exceeded:
        sys.exit(EXIT_FINDINGS)
