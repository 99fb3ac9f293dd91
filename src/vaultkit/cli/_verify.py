"""``vaultkit verify``: read every protected value of a database back; list the bad rows."""

from __future__ import annotations

from pathlib import Path

import click

from vaultkit.cli._common import (
    EXIT_FINDINGS,
    console,
    db_option,
    emit_json,
    json_option,
    keyring_option,
    make_engine,
    print_table,
)
from vaultkit.cli._credentials import open_vault
from vaultkit.cli._oplog import access_options

__all__ = ["verify"]


@click.command()
@keyring_option
@db_option
@click.option("--table", default=None, help="Only this table (schema.table outside the default).")
@json_option
@access_options
def verify(keyring: Path, db: str, table: str | None, as_json: bool) -> None:
    """Decrypt every protected value in the database and list the rows that do not.

    Encrypted columns are found by their header; token and blind-index columns from the
    vaultkit_columns catalogue (tokens detokenized, indexes recomputed and compared). Bad rows
    are listed by table, column and primary key, never by value. Exit 1 when any value is bad
    or anything could not be read (it is then not reported as verified), 0 when all are good.
    """
    from vaultkit.reencrypt import verify_database

    engine = make_engine(db)
    try:
        with open_vault(keyring) as vault:
            result = verify_database(engine, vault, table=table)
    finally:
        engine.dispose()
    if as_json:
        emit_json(
            {
                "ok": result.ok,
                "values": result.values,
                "tables": result.tables,
                "bad": [
                    {
                        "table": f.table,
                        "column": f.column,
                        "primary_key": f.key,
                        "problem": f.problem,
                    }
                    for f in result.findings
                ],
                "unread": result.unread,
            }
        )
    else:
        if result.findings:
            print_table(
                f"{len(result.findings)} bad value(s)",
                ["table", "column", "primary key", "problem"],
                [(f.table, f.column, f.key, f.problem) for f in result.findings],
            )
        for note in result.unread:
            click.echo(f"not verified: {note}", err=True)
        if result.ok:
            console.print(
                f"OK: {result.values:,} protected values in {len(result.tables)} table(s) "
                "decrypt and match",
                markup=False,
            )
        else:
            click.echo(
                f"FAILED: {len(result.findings)} bad value(s) of {result.values:,} checked"
                + (f"; {len(result.unread)} place(s) not verified" if result.unread else ""),
                err=True,
            )
    if not result.ok:
        raise SystemExit(EXIT_FINDINGS)
