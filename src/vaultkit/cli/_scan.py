"""``vaultkit scan``: the PII self-inspection report.

Exit codes: 0 PASS (everything listed was read, no unprotected C2/C3 data); 1 FAIL (unprotected
C2/C3 data found, whatever else); 3 INCOMPLETE (nothing found in what was read, but a schema or
table could not be read: permission denied, not found); 2 usage or database error.
"""

from __future__ import annotations

from pathlib import Path

import click

from vaultkit.cli._common import (
    EXIT_FINDINGS,
    console,
    db_option,
    make_engine,
    optional_keyring_option,
)
from vaultkit.cli._credentials import open_ring
from vaultkit.cli._remote import open_any_vault, server_option
from vaultkit.scan import FORMATS, render, scan_database

__all__ = ["EXIT_INCOMPLETE", "scan"]

EXIT_INCOMPLETE = 3  # a schema or table could not be read: the scan proves nothing about it


@click.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report here instead of stdout.",
)
@click.option(
    "--sample", type=click.IntRange(1), default=1000, show_default=True, help="Rows read per table."
)
@click.option(
    "--schema",
    "schemas",
    multiple=True,
    help="Only these schemas (repeatable; default: every schema the connection can see, system "
    "catalogs excepted; on SQLite main and the attached databases).",
)
@click.option(
    "--table",
    "tables",
    multiple=True,
    help="Only these tables, as NAME or SCHEMA.NAME (repeatable).",
)
@optional_keyring_option(
    "Key ring to name the keys of ciphertexts (optional; ids shown otherwise)."
)
@server_option
def scan(
    db: str,
    fmt: str,
    out: Path | None,
    sample: int,
    schemas: tuple[str, ...],
    tables: tuple[str, ...],
    keyring: Path | None,
    server: str | None,
) -> None:
    """Self-inspection: find unprotected personal data (masked in the report) and count
    vaultkit ciphertexts by key and version, in every schema. Exit code 1 when unprotected C2/C3
    data is found, 3 when a schema or table could not be read (the report lists it), else 0."""
    engine = make_engine(db)
    if server:  # the key service names them: no key ring on this machine
        with open_any_vault(None, server) as remote:
            names = {m.key_id: m.name for m in remote.keys.keys()}
    elif keyring is not None and keyring.exists():
        with open_ring(keyring) as ring:
            names = {m.key_id: m.name for m in ring.keys()}
    else:
        names = {}
    report = scan_database(
        engine,
        sample=sample,
        tables=list(tables) or None,
        schemas=list(schemas) or None,
        key_namer=lambda key_id, _version: names.get(key_id, f"key#{key_id}"),
    )
    text = render(report, fmt)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        s = report.summary()
        console.print(f"report written to {out}: {s['result']}", markup=False)
    if report.failed:
        raise SystemExit(EXIT_FINDINGS)
    if report.incomplete:
        raise SystemExit(EXIT_INCOMPLETE)
