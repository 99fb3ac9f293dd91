"""``vaultkit grant``, ``revoke``, ``grants`` and ``principal token``: who may do what with
which keys (stored in the key ring, see docs/access.md).

Changing grants or tokens is a key operation: it needs a KEK (the ring's credentials), is
signed with ``--sign`` like every store change, and is recorded with ``--audit``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vaultkit.cli._common import console, emit_json, json_option, keyring_option, print_table
from vaultkit.cli._credentials import open_ring, sign_option
from vaultkit.cli._oplog import access_options, recorded

if TYPE_CHECKING:
    from vaultkit.access import Grant
    from vaultkit.access._grant import GrantDoc

__all__ = ["grant", "grants", "principal", "revoke"]


def _ops(value: str | None) -> list[str] | None:
    if value is None:
        return None
    ops = [op.strip() for op in value.split(",") if op.strip()]
    if not ops:
        raise click.UsageError("--ops lists operations, comma-separated (decrypt,detokenize)")
    return ops


def _expires(value: str | None) -> dt.datetime | dt.date | None:
    """A date (the grant ends at 00:00 UTC that day) or an ISO datetime (UTC unless it says
    otherwise)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "a date (2027-01-31) or an ISO datetime (2027-01-31T18:00:00+08:00)",
            param_hint="--expires",
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)


def _subject(name: str, pattern: str | None) -> str:
    """What a grant operation's audit record names as its ``key``: the grantee and pattern."""
    return f"principal:{name}" + ("" if pattern is None else f" keys:{pattern}")


def _record(g: Grant) -> GrantDoc:
    return g.to_json().copy()


@click.command()
@keyring_option
@click.argument("principal_name", metavar="PRINCIPAL")
@click.option("--keys", "pattern", required=True, help="Key names, shell-style: customers.*")
@click.option(
    "--ops",
    required=True,
    help="Operations, comma-separated: encrypt, decrypt, tokenize, detokenize, search, "
    "reveal_masked.",
)
@click.option("--max-per-minute", type=click.IntRange(min=1), default=None, help="Items a minute.")
@click.option("--expires", default=None, help="End date (00:00 UTC) or ISO datetime.")
@access_options
@sign_option
@json_option
def grant(
    keyring: Path,
    principal_name: str,
    pattern: str,
    ops: str,
    max_per_minute: int | None,
    expires: str | None,
    as_json: bool,
) -> None:
    """Allow PRINCIPAL operations on the keys matching a pattern (replaces its grant there)."""
    with open_ring(keyring) as ring:
        with recorded(ring, "grant", _subject(principal_name, pattern)):
            made = ring.grant(
                principal_name,
                keys=pattern,
                operations=_ops(ops) or [],
                max_per_minute=max_per_minute,
                expires=_expires(expires),
            )
    if as_json:
        emit_json(_record(made))
        return
    console.print(
        f"granted {principal_name}: {', '.join(sorted(made.operations))} on {pattern}",
        markup=False,
    )


@click.command()
@keyring_option
@click.argument("principal_name", metavar="PRINCIPAL")
@click.option("--keys", "pattern", default=None, help="Only the grant on this pattern.")
@click.option("--ops", default=None, help="Only these operations (comma-separated).")
@click.option("--tokens", is_flag=True, help="Also revoke every bearer token of PRINCIPAL.")
@access_options
@sign_option
@json_option
def revoke(
    keyring: Path,
    principal_name: str,
    pattern: str | None,
    ops: str | None,
    tokens: bool,
    as_json: bool,
) -> None:
    """Take operations (all by default) away from PRINCIPAL's grants."""
    with open_ring(keyring) as ring:
        with recorded(ring, "revoke", _subject(principal_name, pattern)):
            changed = ring.revoke(principal_name, keys=pattern, operations=_ops(ops))
            revoked = ring.revoke_tokens(principal_name) if tokens else 0
    if as_json:
        emit_json({"principal": principal_name, "grants_changed": changed, "tokens": revoked})
        return
    console.print(
        f"revoked {principal_name}: {changed} grant(s) changed, {revoked} token(s) revoked",
        markup=False,
    )


@click.command()
@keyring_option
@json_option
def grants(keyring: Path, as_json: bool) -> None:
    """List every principal's grants (no token is ever shown)."""
    with open_ring(keyring) as ring:
        records = [_record(g) for g in ring.grants()]
        controlled = ring.access_controlled
    if as_json:
        emit_json({"access_controlled": controlled, "grants": records})
        return
    if not controlled:
        console.print(
            "no grants: every caller may use every key (see docs/access.md)", markup=False
        )
        return
    print_table(
        f"Grants in {keyring}",
        ["principal", "keys", "operations", "max/min", "expires"],
        [
            (
                r["principal"],
                r["keys"],
                ", ".join(r["operations"]),
                r["max_per_minute"] or "",
                r["expires"] or "",
            )
            for r in records
        ],
    )


@click.group()
def principal() -> None:
    """Principals' bearer tokens for the key service."""


@principal.command("token")
@keyring_option
@click.argument("name")
@access_options
@sign_option
@json_option
def principal_token(keyring: Path, name: str, as_json: bool) -> None:
    """Issue a bearer token for principal NAME, printed once (the ring keeps only its hash)."""
    with open_ring(keyring) as ring:
        with recorded(ring, "principal token", _subject(name, None)):
            token = ring.issue_token(name)
    if as_json:
        emit_json({"principal": name, "token": token})
        return
    click.echo(token)
    click.echo(
        f"token for {name}: shown once, store it now "
        f"(revoke with `vaultkit revoke {name} --tokens`)",
        err=True,
    )
