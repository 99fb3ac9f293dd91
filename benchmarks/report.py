"""Write benchmarks/RESULTS.md from a pytest-benchmark JSON file.

Usage: python benchmarks/report.py <benchmark.json> [RESULTS.md]   (``make bench`` runs it)

Reads the convention of benchmarks/README.md: each benchmark's ``group`` names a table and its
``extra_info`` holds ``role`` ("vaultkit" or "peer"), ``label``, ``items`` (values or bytes per
call), optional ``unit`` ("item" or "byte") and, on vaultkit rows, optional ``targets``
({peer label: required speed-up}). Per-item time is the median call time divided by ``items``;
the speed-up against a peer is the peer's per-item time over vaultkit's.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COMMAND = "make bench"
CPU_FLAGS = ("aes", "pclmulqdq", "avx2", "avx512f", "vaes", "vpclmulqdq", "gfni", "sha_ni")


@dataclass
class Row:
    group: str
    label: str
    role: str
    items: int
    unit: str
    median: float  # seconds per call
    targets: dict[str, float] = field(default_factory=dict)

    @property
    def per_item(self) -> float:
        return self.median / self.items


def load(path: Path) -> tuple[dict[str, Any], list[Row]]:
    data = json.loads(path.read_text())
    rows = []
    for b in data.get("benchmarks", []):
        info = b.get("extra_info") or {}
        if "role" not in info or "label" not in info:
            raise SystemExit(f"{b.get('fullname')}: extra_info lacks role/label (README.md)")
        rows.append(
            Row(
                group=b.get("group") or "(no group)",
                label=str(info["label"]),
                role=str(info["role"]),
                items=int(info.get("items", 1)),
                unit=str(info.get("unit", "item")),
                median=float(b["stats"]["median"]),
                targets={str(k): float(v) for k, v in (info.get("targets") or {}).items()},
            )
        )
    return data, rows


def fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"
    raise AssertionError


def fmt_per_item(row: Row) -> str:
    text = f"{fmt_time(row.per_item)}/{row.unit}"
    if row.unit == "byte" and row.per_item > 0:
        text += f" ({1 / row.per_item / 1e6:,.0f} MB/s)"
    return text


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"


def machine(data: dict[str, Any]) -> list[str]:
    model, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        model = platform.processor() or "unknown"
    have = ", ".join(f for f in CPU_FLAGS if f in flags) or "none of " + ", ".join(CPU_FLAGS)
    try:
        import cryptography

        crypto_version = cryptography.__version__
    except ImportError:
        crypto_version = "not installed"
    try:
        from vaultkit.hazmat import bindings

        backend = bindings.backend()
        areas = ", ".join(bindings.native_areas()) or "none"
        backend_text = f"{backend} (native areas: {areas})"
        if "native" in bindings.available():
            _, lib = bindings.native()
            if hasattr(lib, "vk_sm4_impl"):
                from cffi import FFI

                backend_text += f"; SM4 implementation: {FFI().string(lib.vk_sm4_impl()).decode()}"
    except Exception as exc:  # the report must still be written
        backend_text = f"unknown ({type(exc).__name__})"
    python = data.get("machine_info", {}).get("python_version") or platform.python_version()
    return [
        f"- CPU: {model}; {os.cpu_count()} logical cores; flags: {have}",
        f"- Python {python} ({platform.python_implementation()}), cryptography {crypto_version}",
        f"- vaultkit backend: {backend_text}",
        f"- command: `{COMMAND}`; date: {data.get('datetime', 'unknown')}",
    ]


def group_table(rows: list[Row]) -> tuple[list[str], list[str]]:
    """The Markdown table of one group and its target lines for the summary."""
    peers = {r.label: r for r in rows if r.role == "peer"}
    lines = [
        "| label | role | per item | vs peers | target |",
        "|---|---|---|---|---|",
    ]
    summary = []
    ordered = sorted(rows, key=lambda r: (r.role != "vaultkit", r.per_item))
    for r in ordered:
        versus, target = "", ""
        if r.role == "vaultkit":
            versus = "<br>".join(
                f"{p.label}: {fmt_ratio(p.per_item / r.per_item)}" for p in peers.values()
            )
            parts = []
            for peer_label, required in r.targets.items():
                peer = peers.get(peer_label)
                if peer is None:
                    verdict = f">= {required:g}x vs {peer_label}: peer not measured"
                else:
                    ratio = peer.per_item / r.per_item
                    met = "yes" if ratio >= required else "no"
                    verdict = f">= {required:g}x vs {peer_label}: {met} ({ratio:.1f}x)"
                parts.append(verdict)
                summary.append(f"- {r.group}: {r.label} {verdict}")
            target = "<br>".join(parts)
        lines.append(f"| {r.label} | {r.role} | {fmt_per_item(r)} | {versus} | {target} |")
    return lines, summary


# Per-core lower bounds at 3 GHz from issue 3 (native core): FF1-AES256 on 16 digits is ~10
# serial AES blocks, FF1-SM4 ~10 serial SM4 blocks, an SM4-GCM field ~3 SM4 blocks + GHASH.
LIMITS = (
    ("vaultkit FF1-AES256 encrypt_many", "FF1-AES256 token, 16 digits", 0.25e-6),
    ("vaultkit FF1-SM4 encrypt_many", "FF1-SM4 token, 16 digits (serial)", 1.1e-6),
    ("vaultkit SM4GCM.encrypt_many", "SM4-GCM 32-byte field", 0.13e-6),
)


def limits(rows: list[Row]) -> list[str]:
    by_label = {r.label: r for r in rows if r.role == "vaultkit"}
    out = [
        "| operation | per-core limit | measured per item | measured / limit |",
        "|---|---|---|---|",
    ]
    for label, what, bound in LIMITS:
        r = by_label.get(label)
        if r is not None:
            out.append(
                f"| {what} (`{label}`) | {fmt_time(bound)} | {fmt_time(r.per_item)} | "
                f"{r.per_item / bound:.2f}x |"
            )
    return out if len(out) > 2 else []


def render(data: dict[str, Any], rows: list[Row]) -> str:
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    body, summary = [], []
    for name in sorted(groups):
        table, targets = group_table(groups[name])
        body += [f"## {name}", "", *table, ""]
        summary += targets
    out = [
        "# vaultkit benchmark results",
        "",
        f"Generated by `benchmarks/report.py` from a `{COMMAND}` run. Per item = median time of",
        "one call divided by the values (or bytes) it processed; ratios are peer / vaultkit.",
        "",
        "## Machine",
        "",
        *machine(data),
        "",
        "## Targets",
        "",
        *(summary or ["- (no targets declared)"]),
        "",
        "## Distance to the per-core limits",
        "",
        "Batch calls pipeline independent values, so they can go below a serial per-value bound.",
        "",
        *(limits(rows) or ["(no matching benchmarks in this run)"]),
        "",
        *body,
    ]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    data, rows = load(Path(argv[1]))
    target = Path(argv[2]) if len(argv) == 3 else Path(__file__).with_name("RESULTS.md")
    target.write_text(render(data, rows))
    print(f"wrote {target} ({len(rows)} benchmarks)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
