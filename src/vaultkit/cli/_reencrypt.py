"""``vaultkit reencrypt``: online, resumable re-encryption of database columns.

The command: its options, the run (survey, confirmation, passes, verification) and its report.
What the options ask for is :mod:`vaultkit.cli._reencrypt_plan`, the progress display
:mod:`vaultkit.cli._progress`; the work itself is :mod:`vaultkit.reencrypt`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from vaultkit.cli._common import (
    EXIT_ERROR,
    confirm,
    console,
    db_option,
    emit_json,
    err_console,
    json_option,
    make_engine,
    optional_keyring_option,
    yes_option,
)
from vaultkit.cli._kindopt import token_format as known_token_format
from vaultkit.cli._oplog import access_options
from vaultkit.cli._progress import run_with_progress
from vaultkit.cli._reencrypt_plan import (
    index_targets,
    parse_blind_index,
    record,
    row_binding,
    survey_table,
    table_rows,
)
from vaultkit.cli._remote import open_any_vault, server_option

if TYPE_CHECKING:
    from vaultkit.reencrypt import BlindIndexTarget

__all__ = ["reencrypt"]


@click.command()
@optional_keyring_option("Key ring file (or $VAULTKIT_KEYRING); not needed with --server.")
@server_option
@db_option
@click.option(
    "--table", required=True, help="Table to re-encrypt (schema.table outside the default schema)."
)
@click.option("--column", "columns", multiple=True, help="Column to re-encrypt (repeatable).")
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Rows per transaction.",
)
@click.option(
    "--max-rate",
    type=click.FloatRange(min=1),
    default=None,
    help="Limit to this many rows per second (to spare the database).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would change.")
@click.option(
    "--from-plaintext",
    is_flag=True,
    help="The columns hold plaintext: protect it in place under --key.",
)
@click.option(
    "--key",
    "key_name",
    default=None,
    help="Key to protect plaintext under (--from-plaintext) or of the tokens (--format).",
)
@click.option(
    "--format",
    "token_format",
    default=None,
    callback=known_token_format,
    help="The columns hold tokens of this format (card_no, cn_id, mobile, uscc, ...), "
    "stored as VERSION:TOKEN.",
)
@click.option(
    "--blind-index",
    "blind_index",
    multiple=True,
    metavar="COLUMN:INDEX_COLUMN:KEY[:BITS]",
    help="INDEX_COLUMN is COLUMN's blind index under KEY: filled when protecting plaintext "
    "(BITS: the planner's length for the table's rows, or checked by it), rebuilt under KEY's "
    "primary version otherwise (BITS: from the catalogue). Repeatable.",
)
@click.option(
    "--rows",
    "planned_rows",
    type=click.IntRange(min=1),
    default=None,
    help="The row count the table is planned for, as the model's BlindIndex(rows=N): the "
    "planner's index length (or the check of BITS) uses it (default: the table's current rows).",
)
@click.option(
    "--accept-identifying",
    is_flag=True,
    help="Accept a BITS outside the planner's safe range (an index that nearly identifies "
    "rows, or returns too many).",
)
@click.option(
    "--bind-row/--no-bind-row",
    default=None,
    help="Bind the values to their rows (the row key the catalogue records, else the primary "
    "key), rebinding values written unbound; default: the catalogue's binding. A flag that "
    "contradicts the catalogue is an error.",
)
@click.option(
    "--row-key",
    "row_key",
    multiple=True,
    metavar="COLUMN",
    help="Bind the values to this natural key instead of the primary key (repeatable, in "
    'order; SQLAlchemy bind_row="COLUMN").',
)
@json_option
@yes_option
@access_options
def reencrypt(
    keyring: Path | None,
    server: str | None,
    db: str,
    table: str,
    columns: tuple[str, ...],
    batch_size: int,
    max_rate: float | None,
    dry_run: bool,
    from_plaintext: bool,
    key_name: str | None,
    token_format: str | None,
    blind_index: tuple[str, ...],
    planned_rows: int | None,
    accept_identifying: bool,
    bind_row: bool | None,
    row_key: tuple[str, ...],
    as_json: bool,
    yes: bool,
) -> None:
    """Move every value of the columns to its key's primary version, online and resumably.

    Each batch is one transaction whose updates only apply where the value is still the one read
    (compare-and-set), so concurrent application writes are never overwritten. Re-running after
    an interruption continues where it stopped. Ends with a verification pass.
    """
    from vaultkit.catalog import load
    from vaultkit.columns import split_table_name, table_name
    from vaultkit.reencrypt import Reencryptor

    if (from_plaintext or token_format) and key_name is None:
        raise click.UsageError("--from-plaintext and --format need --key")
    if not columns and not blind_index:
        raise click.UsageError("name a --column or a --blind-index")
    if row_key and bind_row is False:
        raise click.UsageError("--row-key binds rows: it cannot go with --no-bind-row")
    if token_format and (bind_row or row_key):
        raise click.UsageError("tokens are bound to their column, not to rows (--format)")
    parsed = parse_blind_index(blind_index, list(columns), from_plaintext=from_plaintext)
    engine = make_engine(db)
    targets: dict[str, BlindIndexTarget] = {}
    schema, bare = split_table_name(table)
    catalogued = {c.column: c for c in load(engine, table=table_name(bare, schema)) or []}
    sources = list(dict.fromkeys([*columns, *parsed]))
    binding, rebind = (
        (False, False) if token_format else row_binding(catalogued, sources, bind_row, row_key)
    )
    if parsed:
        targets = index_targets(
            parsed,
            table=table,
            rows=planned_rows or table_rows(engine, table),
            from_plaintext=from_plaintext,
            accept_identifying=accept_identifying,
            catalogued=catalogued,
        )
    with open_any_vault(keyring, server) as vault:
        job = Reencryptor(
            engine,
            vault,
            table=table,
            columns=columns,
            batch_size=batch_size,
            max_rate=max_rate,
            from_plaintext=from_plaintext,
            key_name=key_name,
            token_format=token_format,
            blind_index=targets,
            bind_row=binding,
            rebind=rebind,
        )
        run_args = {
            "columns": columns,
            "key_name": key_name,
            "token_format": token_format,
            "targets": targets,
        }
        surveys, _ = run_with_progress("survey", job.count_rows(), lambda cb: job.survey(cb))
        job.check(surveys)
        if dry_run:
            if as_json:
                emit_json({"dry_run": True, "columns": [s.as_dict() for s in surveys]})
            else:
                survey_table(f"{table}: what would change (dry run)", surveys)
            return
        if from_plaintext and any(s.plaintext for s in surveys):
            confirm(
                f"Protect the plaintext in {table}.{', '.join(columns)} under {key_name}? "
                "Applications must then read these columns through vaultkit.",
                yes=yes,
            )
        planned = max((s.rows for s in surveys), default=0)  # rows the survey saw
        summary, count = run_with_progress(
            "reencrypt", planned, lambda cb: job.run(cb, surveyed=surveys)
        )
        try:
            record(engine, job, summary.final, run_args)
        except Exception as exc:  # the data is migrated; only the record is missing
            import sqlalchemy as sa

            if not isinstance(exc, sa.exc.DBAPIError):
                raise
            err_console.print(
                "warning: the protected-column catalogue (vaultkit_columns) could not be "
                f"written ({type(exc.orig).__name__}); key retire --db will not see these columns",
                markup=False,
            )
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    if as_json:
        emit_json(
            {
                **summary.as_dict(),
                "rows_planned": count.planned,
                "rows_added": count.added,
                "rows_per_second": round(rate),
            }
        )
    else:
        survey_table(f"{table}: after re-encryption (verification pass)", summary.final)
        console.print(
            f"{summary.rewritten:,} values rewritten over {summary.rows:,} rows in "
            f"{summary.seconds:.2f} s ({rate:,.0f} rows/s), {summary.passes} pass(es), "
            f"{summary.conflicts} concurrent application write(s) left untouched"
        )
    if not summary.complete:
        err_console.print(
            "error: values remain under old versions or unbound (concurrent writers?); run the "
            "command again (values written unbound: with --bind-row)",
            markup=False,
        )
        raise SystemExit(EXIT_ERROR)
