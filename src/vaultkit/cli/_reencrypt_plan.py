"""What a ``vaultkit reencrypt`` run is asked to do, before it runs: the ``--blind-index``
specs and their lengths (the planner, or the catalogue), the row binding (the catalogue's,
checked against ``--bind-row``/``--row-key``), and, after the run, the catalogue record of what
it protects and the survey tables it prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from vaultkit.cli._common import print_table

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from vaultkit.catalog import ProtectedColumn
    from vaultkit.reencrypt import BlindIndexTarget, ColumnSurvey, Reencryptor

__all__ = [
    "index_targets",
    "parse_blind_index",
    "record",
    "row_binding",
    "survey_table",
    "table_rows",
]


def survey_table(title: str, surveys: list[ColumnSurvey]) -> None:
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


def parse_blind_index(
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


def index_targets(
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


def table_rows(engine: Engine, table: str) -> int:
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


def row_binding(
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
    from vaultkit.catalog._table import binding_text
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
            + ", ".join(f"{c}: {binding_text(k)}" for c, k in recorded.items())
            + "); re-encrypt them in separate runs"
        )
    catalogue = next(iter(kinds)) if kinds else None
    where = ", ".join(recorded)
    if catalogue is not None:  # recorded row-bound
        if wanted is False:
            raise RowBindingError(
                f"the catalogue records {where} as bound to {binding_text(catalogue)}; reencrypt "
                "reads and writes them bound and cannot unbind them: drop --no-bind-row"
            )
        if isinstance(wanted, tuple) and wanted != catalogue:
            raise RowBindingError(
                f"--row-key {' '.join(wanted)} contradicts the catalogue, which binds {where} to "
                f"{binding_text(catalogue)}: drop --row-key"
            )
        return (catalogue or True), bool(wanted)
    if not wanted:
        return False, False
    return wanted, True  # binding a column written unbound: rebind its values


def record(
    engine: Engine, job: Reencryptor, surveys: list[ColumnSurvey], args: dict[str, Any]
) -> None:
    """Record what this run protects in the catalogue (``vaultkit.catalog``)."""
    from vaultkit.catalog import ProtectedColumn, Protection
    from vaultkit.catalog import record as write_record

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
            ProtectedColumn.blind_index(
                name, target.column, target.key_name, bits=target.bits, source=(source,)
            )
        )
    write_record(engine, entries)
