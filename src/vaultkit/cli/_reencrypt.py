"""``vaultkit reencrypt``: online, resumable re-encryption of database columns."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vaultkit.cli._common import (
    ENV_DB,
    EXIT_ERROR,
    CliError,
    confirm,
    console,
    db_option,
    emit_json,
    err_console,
    json_option,
    make_engine,
    optional_keyring_option,
    print_table,
    yes_option,
)
from vaultkit.cli._kindopt import token_format as known_token_format
from vaultkit.cli._oplog import access_options
from vaultkit.cli._remote import open_any_vault, server_option

if TYPE_CHECKING:
    from rich.progress import Progress
    from sqlalchemy.engine import Engine

    from vaultkit.catalog import ProtectedColumn
    from vaultkit.keys import KeyRing
    from vaultkit.reencrypt import BlindIndexTarget, ColumnSurvey, Reencryptor

__all__ = ["check_database", "count_under_version", "reencrypt"]

T = TypeVar("T")


def count_under_version(url: str, ring: KeyRing, name: str, version: int) -> list[tuple[str, int]]:
    """Where values under ``name`` version ``version`` remain in the database at ``url``:
    encrypted (headers), token and blind-index columns (the catalogue;
    ``vaultkit.reencrypt._count`` says how each is counted). What could not be checked is said
    on stderr, plainly."""
    from vaultkit import Vault
    from vaultkit.cli._oplog import operator
    from vaultkit.errors import KeyNotFoundError
    from vaultkit.reencrypt import count_version_everywhere

    meta = next((m for m in ring.keys() if m.name == name), None)
    if meta is None:
        raise KeyNotFoundError(f"no key named {name!r}")
    engine = make_engine(url)
    try:
        # the count reads key states, never a value: any principal may run it
        vault = Vault(ring, principal=operator())
        found = count_version_everywhere(engine, vault, name, meta.key_id, version)
    finally:
        engine.dispose()
    for note in found.unchecked:
        click.echo(f"not checked: {note}", err=True)
    return found.places


def check_database(
    ring: KeyRing, name: str, version: int, urls: tuple[str, ...], *, action: str
) -> None:
    """What ``key retire`` and ``key destroy`` run first: refuse (``CliError``) while any value
    in the databases at ``urls`` is under the version; say so when there is nothing to check."""
    if not urls:
        click.echo(
            f"not checked: no database URL (--db or ${ENV_DB}); values under {name} "
            f"v{version} in a database would not be found",
            err=True,
        )
        return
    for url in urls:
        places = count_under_version(url, ring, name, version)
        if places:
            total = sum(n for _, n in places)
            where = ", ".join(f"{place}: {n}" for place, n in places)
            raise CliError(
                f"refusing to {action} {name} v{version}: {total} values are still under it "
                f"({where}); run `vaultkit reencrypt` first"
            )


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


def _run_with_progress(
    description: str, planned: int, fn: Callable[[Callable[[int], None]], T]
) -> tuple[T, RowCount]:
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
        ["column", "rows", "null", "plaintext", "current", "stale", "unbound", "by key version"],
        [
            (
                s.column,
                s.rows,
                s.nulls,
                s.plaintext,
                s.current,
                s.stale,
                s.unbound,
                ", ".join(f"{k} v{v}: {n}" for (k, v), n in sorted(s.by_version.items())) or "-",
            )
            for s in surveys
        ],
    )


def _parse_blind_index(
    specs: tuple[str, ...], columns: list[str], *, from_plaintext: bool
) -> dict[str, tuple[str, str, int | None]]:
    """``COLUMN:INDEX_COLUMN:KEY[:BITS]`` -> {COLUMN: (INDEX_COLUMN, KEY, BITS or None)}."""
    out: dict[str, tuple[str, str, int | None]] = {}
    for spec in specs:
        parts = spec.split(":")
        if (
            len(parts) not in (3, 4)
            or not all(parts)
            or (len(parts) == 4 and not parts[3].isdigit())
        ):
            raise click.UsageError(
                f"--blind-index {spec!r}: expected COLUMN:INDEX_COLUMN:KEY[:BITS]"
            )
        column, index_column, key_name = parts[:3]
        if from_plaintext and column not in columns:
            raise click.UsageError(f"--blind-index names {column!r}, which is not a --column")
        out[column] = (index_column, key_name, int(parts[3]) if len(parts) == 4 else None)
    return out


def _index_targets(
    parsed: dict[str, tuple[str, str, int | None]],
    *,
    table: str,
    rows: int,
    from_plaintext: bool,
    accept_identifying: bool,
    catalogued: dict[str, ProtectedColumn],
) -> dict[str, BlindIndexTarget]:
    """The blind-index targets with their lengths. Protecting plaintext: the planner's length
    for ``rows`` (``--rows``, else the table's row count), or the given BITS checked by it
    (``index_bits``, the call the ORM's ``BlindIndex(rows=...)`` makes too). Rebuilding: the
    given BITS, else the catalogue's."""
    from vaultkit.blindindex._planner import index_bits
    from vaultkit.errors import PolicyError
    from vaultkit.reencrypt import BlindIndexTarget

    out: dict[str, BlindIndexTarget] = {}
    for column, (index_column, key_name, bits) in parsed.items():
        if from_plaintext:
            try:
                bits = index_bits(
                    bits,
                    rows=rows,
                    accept_identifying=accept_identifying,
                    where=f"{table}.{index_column}",
                )
            except PolicyError as exc:
                raise click.UsageError(f"{exc} (--accept-identifying)") from None
        elif bits is None:
            entry = catalogued.get(index_column)
            if entry is None or entry.bits is None:
                raise click.UsageError(
                    f"--blind-index {column}:{index_column}:{key_name}: give BITS "
                    f"({table}.{index_column} is not in the catalogue)"
                )
            bits = entry.bits
        out[column] = BlindIndexTarget(index_column, key_name, bits)
    return out


def _table_rows(engine: Engine, table: str) -> int:
    """The table's row count (what the planner sizes an index for); 0 when there is no such
    table (the re-encryption then names it)."""
    import sqlalchemy as sa

    from vaultkit.columns import split_table_name

    schema, name = split_table_name(table)
    try:
        t = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=engine)
    except sa.exc.NoSuchTableError:
        return 0
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())


def _binding(
    catalogued: dict[str, ProtectedColumn],
    columns: list[str],
    flag: bool | None,
    row_key: tuple[str, ...],
) -> tuple[bool | tuple[str, ...], bool]:
    """What the run binds values to, and whether it rebinds (docs/cli.md, "reencrypt"): the
    catalogue's row binding of ``columns`` (so every door agrees without repeating it), with
    ``--bind-row`` / ``--row-key`` binding a column the catalogue records unbound (or does not
    know) and rebinding its unbound values. A flag that contradicts the catalogue is a
    ``RowBindingError``."""
    from vaultkit.catalog import Protection
    from vaultkit.errors import RowBindingError

    wanted: bool | tuple[str, ...] | None = row_key or flag
    recorded = {
        c: catalogued[c].row_key
        for c in columns
        if c in catalogued and catalogued[c].protection is Protection.ENCRYPTED
    }
    kinds = set(recorded.values())
    if len(kinds) > 1:
        raise RowBindingError(
            "the catalogue binds these columns differently ("
            + ", ".join(f"{c}: {_bound_to(k)}" for c, k in recorded.items())
            + "); re-encrypt them in separate runs"
        )
    catalogue = next(iter(kinds)) if kinds else None
    where = ", ".join(recorded)
    if catalogue is not None:  # recorded row-bound
        if wanted is False:
            raise RowBindingError(
                f"the catalogue records {where} as bound to {_bound_to(catalogue)}; reencrypt "
                "reads and writes them bound and cannot unbind them: drop --no-bind-row"
            )
        if isinstance(wanted, tuple) and wanted != catalogue:
            raise RowBindingError(
                f"--row-key {' '.join(wanted)} contradicts the catalogue, which binds {where} to "
                f"{_bound_to(catalogue)}: drop --row-key"
            )
        return (catalogue or True), bool(wanted)
    if not wanted:
        return False, False
    return wanted, True  # binding a column written unbound: rebind its values


def _bound_to(row_key: tuple[str, ...] | None) -> str:
    if row_key is None:
        return "nothing (column only)"
    return "the primary key" if not row_key else f"({', '.join(row_key)})"


def _record(
    engine: Engine, job: Reencryptor, surveys: list[ColumnSurvey], args: dict[str, Any]
) -> None:
    """Record what this run protects in the catalogue (``vaultkit.catalog``)."""
    from vaultkit.catalog import ProtectedColumn, Protection, record

    name = job.table_name
    entries: list[ProtectedColumn] = []
    by_column = {s.column: s for s in surveys}
    for column in args["columns"]:
        s = by_column.get(column)
        key = args["key_name"] or (
            s.by_version.most_common(1)[0][0][0] if s is not None and s.by_version else None
        )
        if key is None:
            continue  # nothing protected in it: nothing to record
        if args["token_format"]:
            entries.append(
                ProtectedColumn(name, column, Protection.TOKEN, key, args["token_format"])
            )
        else:
            entries.append(
                ProtectedColumn(
                    name,
                    column,
                    Protection.ENCRYPTED,
                    key,
                    detail=job.storage_of(column),
                    row_key=job.row_key_columns,
                )
            )
    for source, target in args["targets"].items():
        entries.append(
            ProtectedColumn(
                name,
                target.column,
                Protection.BLIND_INDEX,
                target.key_name,
                detail="text",
                bits=target.bits,
                source=(source,),
            )
        )
    record(engine, entries)


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
    parsed = _parse_blind_index(blind_index, list(columns), from_plaintext=from_plaintext)
    engine = make_engine(db)
    targets: dict[str, BlindIndexTarget] = {}
    schema, bare = split_table_name(table)
    catalogued = {c.column: c for c in load(engine, table=table_name(bare, schema)) or []}
    sources = list(dict.fromkeys([*columns, *parsed]))
    binding, rebind = (
        (False, False) if token_format else _binding(catalogued, sources, bind_row, row_key)
    )
    if parsed:
        targets = _index_targets(
            parsed,
            table=table,
            rows=planned_rows or _table_rows(engine, table),
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
        try:
            _record(engine, job, summary.final, run_args)
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
        _survey_table(f"{table}: after re-encryption (verification pass)", summary.final)
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
