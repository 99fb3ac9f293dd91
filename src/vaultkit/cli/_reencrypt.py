"""``vaultkit reencrypt``: online, resumable re-encryption of database columns."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

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
    from rich.progress import Progress

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
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

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


class RowCount:
    """Rows done against rows to do. ``planned`` is what was counted before the pass; rows the
    application inserts meanwhile are seen too (the pass walks the primary key to its end), so
    they are counted as ``added`` and the total grows: done never shows above total."""

    def __init__(self, planned: int) -> None:
        self.planned = planned
        self.done = 0

    @property
    def added(self) -> int:
        return max(self.done - self.planned, 0)

    @property
    def total(self) -> int:
        return self.planned + self.added

    def line(self, description: str, rate: float) -> str:
        added = f", {self.added:,} added during the run" if self.added else ""
        return f"{description}: {self.done}/{self.total} rows{added} ({rate:,.0f} rows/s)"


def _run_with_progress(description: str, planned: int, fn: Any) -> tuple[Any, RowCount]:
    """Run ``fn(advance)`` under a progress bar (rows/s, ETA) on a terminal, or with a plain
    ``description: done/total rows`` line on stderr every 5% otherwise (logs, pipelines) and
    once at the end. Returns ``fn``'s result and the final count."""
    count = RowCount(planned)
    start = time.perf_counter()
    if not err_console.is_terminal:
        step = max(planned // 20, 1)

        def rate() -> float:
            return count.done / max(time.perf_counter() - start, 1e-9)

        def report(n: int) -> None:
            before = count.done
            count.done += n
            if count.done // step != before // step:
                click.echo(count.line(description, rate()), err=True)

        result = fn(report)
        if count.done % step or count.done == 0:  # the last line shows the final count
            click.echo(count.line(description, rate()), err=True)
        return result, count
    with _progress() as bar:
        task = bar.add_task(description, total=planned, rate="-")

        def advance(n: int) -> None:
            count.done += n
            bar.update(task, completed=count.done, total=count.total)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:,.0f}" if speed else "-")

        result = fn(advance)
        bar.update(task, completed=count.done, total=count.done)  # rows deleted meanwhile
        return result, count


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
        surveys, _ = _run_with_progress("survey", job.count_rows(), lambda cb: job.survey(cb))
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
        planned = max((s.rows for s in surveys), default=0)  # rows the survey saw
        summary, count = _run_with_progress(
            "reencrypt", planned, lambda cb: job.run(cb, surveyed=surveys)
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
