"""``vaultkit scan``: the PII self-inspection report (exit code 1 on unprotected C2/C3 data)."""

from __future__ import annotations

from pathlib import Path

import click

from vaultkit.cli._common import (
    EXIT_FINDINGS,
    console,
    db_option,
    make_engine,
    open_ring,
    optional_keyring_option,
)
from vaultkit.scan import FORMATS, render, scan_database

__all__ = ["scan"]


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
@click.option("--table", "tables", multiple=True, help="Only these tables (repeatable).")
@optional_keyring_option(
    "Key ring to name the keys of ciphertexts (optional; ids shown otherwise)."
)
def scan(
    db: str, fmt: str, out: Path | None, sample: int, tables: tuple[str, ...], keyring: Path | None
) -> None:
    """Self-inspection: find unprotected personal data (masked in the report) and count
    vaultkit ciphertexts by key and version. Exit code 1 when unprotected C2/C3 data is found."""
    engine = make_engine(db)
    if keyring is not None and keyring.exists():
        with open_ring(keyring) as ring:
            names = {m.key_id: m.name for m in ring.keys()}
    else:
        names = {}
    report = scan_database(
        engine,
        sample=sample,
        tables=list(tables) or None,
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
