"""The scan report in Markdown, JSON or HTML. Values appear only masked (as the scan kept them)."""

from __future__ import annotations

import html
import json

from vaultkit.scan._scan import ScanReport

__all__ = ["FORMATS", "render"]

FORMATS = ("md", "json", "html")


def _ciphertexts(report: ScanReport, c_index: int) -> str:
    c = report.columns[c_index]
    parts = [f"{k} v{v}: {n}" for (k, v), n in sorted(c.ciphertexts.items())]
    parts += [f"tokens v{v}: {n}" for v, n in sorted(c.tokens.items())]
    return ", ".join(parts)


def _rows(report: ScanReport) -> list[list[str]]:
    rows = []
    for i, c in enumerate(report.columns):
        if not c.findings and not c.ciphertexts and not c.tokens:
            continue
        findings = "; ".join(
            f"{f.kind} ({f.level}) x{f.count}: {', '.join(f.examples)}" for f in c.findings.values()
        )
        status = f"UNPROTECTED {c.level}" if c.level else "protected"
        rows.append(
            [
                f"{c.table}.{c.column}",
                str(c.sampled),
                status,
                findings or "-",
                _ciphertexts(report, i) or "-",
            ]
        )
    return rows


_HEADER = [
    "column",
    "sampled",
    "status",
    "plaintext found (masked examples)",
    "vaultkit ciphertexts and tokens",
]


_UNBOUND_HEADER = ["column", "key", "severity", "fix"]


def _unbound_rows(report: ScanReport) -> list[list[str]]:
    return [[f"{f.table}.{f.column}", f.key_name, f.severity, f.fix] for f in report.unbound]


def _read(report: ScanReport) -> tuple[list[list[str]], list[list[str]]]:
    """The tables read (schema, table, rows) and the ones not read (schema, table, reason)."""
    read = [[report.table_schemas.get(t, ""), t, str(n)] for t, n in report.tables.items()]
    unread = [[u.schema or "", u.table or "(whole schema)", u.reason] for u in report.unreadable]
    return read, unread


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return out


def _markdown(report: ScanReport) -> str:
    s = report.summary()
    lv = s["unprotected_columns_by_level"]
    read, unread = _read(report)
    out = [
        "# vaultkit self-inspection report (JR/T 0171-2020)",
        "",
        f"- database: `{report.database}`",
        "- schemas read: " + (", ".join(f"`{x}`" for x in report.schemas) or "none"),
        f"- sample: up to {report.sample} rows per table; {s['tables']} tables, "
        f"{s['columns']} columns, {report.seconds:.2f} s",
        f"- tables not read: {len(unread)}",
        f"- unprotected columns: C3 {lv['C3']}, C2 {lv['C2']}, C1 {lv['C1']}",
        f"- protected columns: {s['protected_columns']} "
        f"({s['not_row_bound_columns']} encrypted not row-bound)",
        f"- result: **{s['result']}**",
        "",
        *_md_table(_HEADER, _rows(report)),
    ]
    if unread:
        out += ["", "## Tables not read (the scan is not complete)", ""]
        out += _md_table(["schema", "table", "reason"], unread)
    if report.unbound:
        out += [
            "",
            "## Encrypted columns not row-bound (a ciphertext copied to another row decrypts)",
            "",
        ]
        out += _md_table(_UNBOUND_HEADER, _unbound_rows(report))
    out += ["", "## Tables read", "", *_md_table(["schema", "table", "rows"], read)]
    if s["ciphertexts_by_key"]:
        out += [
            "",
            "## Ciphertexts by key and version",
            "",
            "| key | version | values |",
            "|---|---|---|",
        ]
        out += [f"| {k['key']} | {k['version']} | {k['count']} |" for k in s["ciphertexts_by_key"]]
    return "\n".join(out) + "\n"


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table border="1"><tr>{head}</tr>{body}</table>\n'


def _html(report: ScanReport) -> str:
    s = report.summary()
    lv = s["unprotected_columns_by_level"]
    e = html.escape
    read, unread = _read(report)
    schemas = ", ".join(f"<code>{e(x)}</code>" for x in report.schemas) or "none"
    not_read = (
        "<h2>Tables not read (the scan is not complete)</h2>\n"
        + _html_table(["schema", "table", "reason"], unread)
        if unread
        else ""
    )
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        "<title>vaultkit self-inspection report</title></head><body>\n"
        "<h1>vaultkit self-inspection report (JR/T 0171-2020)</h1>\n"
        f"<p>database: <code>{e(report.database)}</code>; schemas read: {schemas}; sample: up "
        f"to {report.sample} rows per table; {s['tables']} tables, {s['columns']} columns; "
        f"tables not read: {len(unread)}</p>\n"
        f"<p>unprotected columns: C3 {lv['C3']}, C2 {lv['C2']}, C1 {lv['C1']}; protected columns: "
        f"{s['protected_columns']}; result: <strong>{s['result']}</strong></p>\n"
        + _html_table(_HEADER, _rows(report))
        + not_read
        + (
            "<h2>Encrypted columns not row-bound (a ciphertext copied to another row decrypts)"
            "</h2>\n" + _html_table(_UNBOUND_HEADER, _unbound_rows(report))
            if report.unbound
            else ""
        )
        + "<h2>Tables read</h2>\n"
        + _html_table(["schema", "table", "rows"], read)
        + "</body></html>\n"
    )


def render(report: ScanReport, fmt: str) -> str:
    """The report as ``md``, ``json`` or ``html`` text."""
    if fmt == "json":
        return json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "html":
        return _html(report)
    if fmt == "md":
        return _markdown(report)
    raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
