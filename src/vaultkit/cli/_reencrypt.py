"""``vaultkit reencrypt``: online, resumable re-encryption of database columns."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from vaultkit.cli._common import (
    EXIT_ERROR,
    confirm,
    console,
    db_option,
    emit_json,
    err_console,
    json_option,
    keyring_option,
    make_engine,
    open_vault,
    print_table,
    yes_option,
)
from vaultkit.cli._kindopt import token_format as known_token_format

if TYPE_CHECKING:
    from vaultkit.keys import KeyRing
    from vaultkit.reencrypt import ColumnSurvey

__all__ = ["count_under_version", "reencrypt"]


def count_under_version(url: str, ring: KeyRing, name: str, version: int) -> list[tuple[str, int]]:
    """Where values under ``name`` version ``version`` remain in the database at ``url``."""
    from vaultkit import reencrypt as engine_mod
    from vaultkit.errors import KeyNotFoundError

    meta = next((m for m in ring.keys() if m.name == name), None)
    if meta is None:
        raise KeyNotFoundError(f"no key named {name!r}")
    return engine_mod.count_under_version(make_engine(url), meta.key_id, version)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


def _run_with_progress(description: str, total: int, fn: Any) -> Any:
    """Run ``fn(advance)`` under a progress bar (rows/s, ETA) on a terminal, or with a plain
    ``description: done/total rows`` line on stderr every 5% otherwise (logs, pipelines)."""
    if not err_console.is_terminal:
        done = 0
        step = max(total // 20, 1)
        start = time.perf_counter()

        def report(n: int) -> None:
            nonlocal done
            before, done = done, done + n
            if done // step != before // step or done >= total:
                rate = done / max(time.perf_counter() - start, 1e-9)
                click.echo(f"{description}: {done}/{total} rows ({rate:,.0f} rows/s)", err=True)

        return fn(report)
    with _progress() as bar:
        task = bar.add_task(description, total=total, rate="-")

        def advance(n: int) -> None:
            bar.advance(task, n)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:,.0f}" if speed else "-")

        return fn(advance)


def _survey_table(title: str, surveys: list[ColumnSurvey]) -> None:
    print_table(
        title,
        ["column", "rows", "null", "plaintext", "current", "stale", "by key version"],
        [
            (
                s.column,
                s.rows,
                s.nulls,
                s.plaintext,
                s.current,
                s.stale,
                ", ".join(f"{k} v{v}: {n}" for (k, v), n in sorted(s.by_version.items())) or "-",
            )
            for s in surveys
        ],
    )


def _parse_blind_index(specs: tuple[str, ...], columns: list[str]) -> dict[str, Any]:
    from vaultkit.reencrypt import BlindIndexTarget

    out: dict[str, Any] = {}
    for spec in specs:
        parts = spec.split(":")
        if len(parts) != 4 or not parts[3].isdigit():
            raise click.UsageError(f"--blind-index {spec!r}: expected COLUMN:INDEX_COLUMN:KEY:BITS")
        column, index_column, key_name, bits = parts
        if column not in columns:
            raise click.UsageError(f"--blind-index names {column!r}, which is not a --column")
        out[column] = BlindIndexTarget(index_column, key_name, int(bits))
    return out


@click.command()
@keyring_option
@db_option
@click.option("--table", required=True, help="Table to re-encrypt.")
@click.option(
    "--column", "columns", multiple=True, required=True, help="Column to re-encrypt (repeatable)."
)
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
    metavar="COLUMN:INDEX_COLUMN:KEY:BITS",
    help="With --from-plaintext: also fill INDEX_COLUMN with COLUMN's blind index.",
)
@click.option(
    "--bind-row",
    is_flag=True,
    help="Values are bound to their row's primary key (SQLAlchemy bind_row=True).",
)
@json_option
@yes_option
def reencrypt(
    keyring: Path,
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
    bind_row: bool,
    as_json: bool,
    yes: bool,
) -> None:
    """Move every value of the columns to its key's primary version, online and resumably.

    Each batch is one transaction whose updates only apply where the value is still the one read
    (compare-and-set), so concurrent application writes are never overwritten. Re-running after
    an interruption continues where it stopped. Ends with a verification pass.
    """
    from vaultkit.reencrypt import Reencryptor

    if (from_plaintext or token_format) and key_name is None:
        raise click.UsageError("--from-plaintext and --format need --key")
    if blind_index and not from_plaintext:
        raise click.UsageError("--blind-index is for --from-plaintext")
    targets = _parse_blind_index(blind_index, list(columns))
    engine = make_engine(db)
    with open_vault(keyring) as vault:
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
            bind_row=bind_row,
        )
        total = job.count_rows()
        surveys = _run_with_progress("survey", total, lambda cb: job.survey(cb))
        job.check(surveys)
        if dry_run:
            if as_json:
                emit_json({"dry_run": True, "columns": [s.as_dict() for s in surveys]})
            else:
                _survey_table(f"{table}: what would change (dry run)", surveys)
            return
        if from_plaintext and any(s.plaintext for s in surveys):
            confirm(
                f"Protect the plaintext in {table}.{', '.join(columns)} under {key_name}? "
                "Applications must then read these columns through vaultkit.",
                yes=yes,
            )
        summary = _run_with_progress("reencrypt", total, lambda cb: job.run(cb, surveyed=surveys))
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    if as_json:
        emit_json({**summary.as_dict(), "rows_per_second": round(rate)})
    else:
        _survey_table(f"{table}: after re-encryption (verification pass)", summary.final)
        console.print(
            f"{summary.rewritten:,} values rewritten over {summary.rows:,} rows in "
            f"{summary.seconds:.2f} s ({rate:,.0f} rows/s), {summary.passes} pass(es), "
            f"{summary.conflicts} concurrent application write(s) left untouched"
        )
    if not summary.complete:
        err_console.print(
            "error: values remain under old versions (concurrent writers?); run the command again",
            markup=False,
        )
        raise SystemExit(EXIT_ERROR)
