"""The self-inspection scan (自查): find unprotected personal financial information in a
database and count vaultkit ciphertexts by key and version.

Reads a sample of every column of every table of every schema the connection can see (or of
the schemas asked for; ``LIMIT sample``; nothing is written), classifies each value (vaultkit
ciphertext from its header alone, otherwise searched for identifiers with their check
characters), and keeps only counts and a few **masked** examples: the report never holds a
full plaintext value. A schema or table that cannot be read (permission denied, not
found) is listed as unreadable, and the result is then INCOMPLETE, never PASS.

From the protected-column catalogue (``vaultkit_columns``, when the database has one) it also
lists the encrypted columns that are not row-bound (:class:`BindingFinding`): a database writer
can copy one row's ciphertext into another row of such a column and it decrypts there
(docs/threat-model.md). They are findings of their own, with a severity and the fix; they do
not change the PASS/FAIL result, which is about unprotected data.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vaultkit.masking import mask
from vaultkit.policy import is_authentication_column
from vaultkit.reencrypt import Classifier, Form
from vaultkit.scan._detect import DETECTORS, looks_like_verifier
from vaultkit.scan._read import Target, Unreadable, reason, targets

__all__ = ["BindingFinding", "ColumnReport", "Finding", "ScanReport", "scan_database"]

_EXAMPLES = 3
# The stored form of vaultkit.ext.sqlalchemy.Tokenized: "<key version>:<token>".
_TOKEN = re.compile(r"([0-9]{1,9}):[0-9A-Za-z]{6,64}")
KeyNamer = Callable[[int, int], str]  # (key id, version) -> key name


class KeyCount(TypedDict):
    key: str
    version: int
    count: int


class Summary(TypedDict):
    """:meth:`ScanReport.summary` (also the ``summary`` of the JSON report)."""

    schemas: int
    tables: int
    unreadable: int
    columns: int
    unprotected_columns_by_level: dict[str, int]
    protected_columns: int
    not_row_bound_columns: int
    ciphertexts_by_key: list[KeyCount]
    result: str


@dataclass
class Finding:
    """Unprotected values of one kind in one column."""

    kind: str
    level: str
    count: int = 0
    examples: list[str] = field(default_factory=list)  # masked

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "level": self.level,
            "count": self.count,
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class BindingFinding:
    """An encrypted column the catalogue records as not row-bound: its ciphertexts can be moved
    between rows of the column and still decrypt."""

    table: str  # as contexts and the catalogue name it
    column: str
    key_name: str
    severity: str = "medium"

    @property
    def fix(self) -> str:
        return (
            "bind it to its rows: on a client-assigned primary key declare the column with the "
            'default bind_row="auto" (or bind_row=True) and read_unbound=True, run `vaultkit '
            f"reencrypt --table {self.table} --column {self.column} --bind-row`, then drop "
            "read_unbound; on a database-assigned (autoincrement) key bind it to a natural key "
            '(bind_row="COLUMN", reencrypt --row-key COLUMN) or assign keys in the client'
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "table": self.table,
            "column": self.column,
            "key": self.key_name,
            "severity": self.severity,
            "finding": "not row-bound: a ciphertext copied to another row decrypts there",
            "fix": self.fix,
        }


@dataclass
class ColumnReport:
    table: str  # as shown: bare in the default schema, else "schema.table"
    column: str
    sampled: int = 0
    nulls: int = 0
    ciphertexts: Counter[tuple[str, int]] = field(default_factory=Counter)
    tokens: Counter[int] = field(default_factory=Counter)  # by key version
    findings: dict[str, Finding] = field(default_factory=dict)
    schema: str | None = None

    @property
    def level(self) -> str | None:
        """Highest level of unprotected data found here (``C3`` > ``C2`` > ``C1``), or None."""
        levels = {f.level for f in self.findings.values() if f.count}
        return max(levels) if levels else None

    @property
    def protected(self) -> bool:
        return bool(self.ciphertexts or self.tokens) and not self.findings

    def as_dict(self) -> dict[str, object]:
        return {
            "schema": self.schema,
            "table": self.table,
            "column": self.column,
            "sampled": self.sampled,
            "nulls": self.nulls,
            "level": self.level,
            "ciphertexts": [
                {"key": k, "version": v, "count": n}
                for (k, v), n in sorted(self.ciphertexts.items())
            ],
            "tokens": [{"version": v, "count": n} for v, n in sorted(self.tokens.items())],
            "findings": [f.as_dict() for f in self.findings.values()],
        }


@dataclass
class ScanReport:
    database: str
    sample: int
    seconds: float = 0.0
    tables: dict[str, int] = field(default_factory=dict)  # table (as shown) -> row count
    columns: list[ColumnReport] = field(default_factory=list)
    schemas: list[str] = field(default_factory=list)  # the schemas read
    unreadable: list[Unreadable] = field(default_factory=list)
    table_schemas: dict[str, str] = field(default_factory=dict)  # table (as shown) -> schema
    unbound: list[BindingFinding] = field(default_factory=list)  # from the catalogue

    def unprotected(self, *levels: str) -> list[ColumnReport]:
        return [c for c in self.columns if c.level in levels]

    @property
    def failed(self) -> bool:
        """True when unprotected C2 or C3 data was found (the scan's exit code is then 1)."""
        return bool(self.unprotected("C2", "C3"))

    @property
    def incomplete(self) -> bool:
        """True when a schema or table asked for or listed could not be read: the result is
        then INCOMPLETE (or FAIL), never PASS."""
        return bool(self.unreadable)

    @property
    def result(self) -> str:
        """``FAIL`` (unprotected C2/C3 data found), ``INCOMPLETE`` (nothing found in what was
        read, but something could not be read) or ``PASS``."""
        return "FAIL" if self.failed else "INCOMPLETE" if self.incomplete else "PASS"

    def summary(self) -> Summary:
        by_level = {lvl: len(self.unprotected(lvl)) for lvl in ("C3", "C2", "C1")}
        keys: Counter[tuple[str, int]] = Counter()
        for c in self.columns:
            keys.update(c.ciphertexts)
        return {
            "schemas": len(self.schemas),
            "tables": len(self.tables),
            "unreadable": len(self.unreadable),
            "columns": len(self.columns),
            "unprotected_columns_by_level": by_level,
            "protected_columns": sum(1 for c in self.columns if c.protected),
            "not_row_bound_columns": len(self.unbound),
            "ciphertexts_by_key": [
                {"key": k, "version": v, "count": n} for (k, v), n in sorted(keys.items())
            ],
            "result": self.result,
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "database": self.database,
            "sample": self.sample,
            "seconds": round(self.seconds, 3),
            "summary": self.summary(),
            "schemas": list(self.schemas),
            "tables": [
                {"schema": self.table_schemas.get(t), "table": t, "rows": n}
                for t, n in self.tables.items()
            ],
            "unreadable": [u.as_dict() for u in self.unreadable],
            "columns": [c.as_dict() for c in self.columns],
            "not_row_bound": [f.as_dict() for f in self.unbound],
        }


def _inspect_value(
    report: ColumnReport, value: object, namer: KeyNamer | None, classify: Classifier
) -> None:
    s = classify(value)
    if s.form is Form.NULL:
        report.nulls += 1
        return
    if s.is_ciphertext:
        name = namer(s.key_id, s.version) if namer else f"key#{s.key_id}"
        report.ciphertexts[(name, s.version)] += 1
        return
    if isinstance(value, bytes | bytearray | memoryview):
        return  # binary that is not a vaultkit ciphertext: nothing to read in it
    text = str(value)
    m = _TOKEN.fullmatch(text)
    if m is not None:
        report.tokens[int(m.group(1))] += 1
        return
    if is_authentication_column(report.column) and text and not looks_like_verifier(text):
        # C3 data is never displayed, not even in part (vaultkit.policy): fully masked
        _add(report, "authentication", "C3", mask("authentication", text))
        return
    claimed: list[tuple[int, int]] = []
    for det in DETECTORS:
        for m in det.pattern.finditer(text):
            span = m.span()
            if any(a < span[1] and span[0] < b for a, b in claimed):
                continue
            if det.valid(m.group()):
                claimed.append(span)
                _add(report, det.kind, det.level, mask(det.mask_as, m.group()))


def _add(report: ColumnReport, kind: str, level: str, shown: str) -> None:
    """Count one finding; ``shown`` is already masked."""
    f = report.findings.get(kind)
    if f is None:
        f = report.findings[kind] = Finding(kind, level)
    f.count += 1
    if len(f.examples) < _EXAMPLES:
        f.examples.append(shown)


def scan_database(
    engine: Engine,
    *,
    sample: int = 1000,
    key_namer: KeyNamer | None = None,
    tables: list[str] | None = None,
    schemas: list[str] | None = None,
) -> ScanReport:
    """Scan every table of every schema ``engine``'s connection can see (system catalogs
    excepted; on SQLite ``main`` and the attached databases), or only ``schemas`` and only
    ``tables`` (``name`` or ``schema.name``); read-only. What cannot be read is reported in
    :attr:`ScanReport.unreadable`."""
    start = time.perf_counter()
    report = ScanReport(database=engine.url.render_as_string(hide_password=True), sample=sample)
    classifier = Classifier()
    with engine.connect() as conn:
        report.schemas, found, report.unreadable = targets(conn, schemas, tables)
        for target in found:
            try:
                columns = _read_table(conn, target, report, sample, key_namer, classifier)
            except sa.exc.NoSuchTableError:
                conn.rollback()
                report.unreadable.append(Unreadable(target.schema, target.shown, "not found"))
            except sa.exc.DBAPIError as exc:
                conn.rollback()
                report.unreadable.append(Unreadable(target.schema, target.shown, reason(exc)))
            else:
                report.table_schemas[target.shown] = target.schema
                report.columns.extend(columns)
        report.unbound = _unbound(conn, report)
    report.seconds = time.perf_counter() - start
    return report


def _unbound(conn: sa.Connection, report: ScanReport) -> list[BindingFinding]:
    """The catalogue's encrypted columns without row binding, in the tables the scan read."""
    from vaultkit.catalog import Protection, load

    try:
        entries = load(conn)
    except sa.exc.DBAPIError as exc:
        conn.rollback()
        report.unreadable.append(Unreadable(None, "vaultkit_columns", reason(exc)))
        return []
    return [
        BindingFinding(c.table, c.column, c.key_name)
        for c in entries or []
        if c.protection is Protection.ENCRYPTED and c.row_key is None and c.table in report.tables
    ]


def _read_table(
    conn: sa.Connection,
    target: Target,
    report: ScanReport,
    sample: int,
    key_namer: KeyNamer | None,
    classifier: Classifier,
) -> list[ColumnReport]:
    table = sa.Table(target.name, sa.MetaData(), schema=target.qualify, autoload_with=conn)
    rows_total = int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    columns = [ColumnReport(target.shown, c.name, schema=target.schema) for c in table.columns]
    # the driver's values, without the reflected types' result processing: a column whose
    # declared type does not fit its contents (text in a DATETIME or NUMERIC column of SQLite)
    # is read and searched like any other, instead of failing the scan
    raw = [sa.type_coerce(c, sa.types.NullType()).label(c.name) for c in table.columns]
    rows = conn.execute(sa.select(*raw).limit(sample)).all()
    for row in rows:
        for i, col in enumerate(columns):
            col.sampled += 1
            _inspect_value(col, row[i], key_namer, classifier)
    report.tables[target.shown] = rows_total
    return columns
