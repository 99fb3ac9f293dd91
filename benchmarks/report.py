"""Write benchmarks/RESULTS.md from a pytest-benchmark JSON file.

Usage: python benchmarks/report.py <benchmark.json> [RESULTS.md] [--paths .paths.json]
                                   [--startup .startup.json] [--spark .spark.json]
                                   [--service .service.json]
(``make bench`` runs it; ``--paths`` is the manifest ``benchmarks/paths.py`` writes: one run of
bench_paths.py per CPU path, each rendered as a section; ``--startup`` is what
``benchmarks/startup.py`` measured: the CLI's start-up and the streaming CLI's peak memory;
``--spark`` what ``benchmarks/bench_spark.py`` measured: protect on Spark against one process,
and jdbc_reencrypt on PostgreSQL; ``--service`` what ``benchmarks/bench_service.py`` measured: the
key service's latency percentiles, batch rate and 32-client load.)

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

from startup import (
    HELP_GOAL_MB,
    HELP_GOAL_S,
    KDF_OVERHEAD_GOAL_MB,
    STREAM_GOAL_MB,
    passphrase_goal_mb,
)

COMMAND = "make bench"
ARM64_NOTE = (
    "- ARM64 (aarch64) speed is not measured here: the ARM64 paths (docs/native.md) run only "
    "under qemu emulation on this x86 machine, which proves correctness "
    "(tests/native/test_aarch64.py), not speed."
)
# Published reference point (issue 16): libgcrypt's SM4-CTR with GFNI/AVX2.
LIBGCRYPT_CTR_CPB = 2.7
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
    note: str = ""

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
                note=str(info.get("note", "")),
            )
        )
    return data, rows


def fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"
    raise AssertionError


def nominal_hz() -> float | None:
    """The clock cycles/byte figures use: the first ``cpu MHz`` of /proc/cpuinfo (nominal: on a
    VM it is the host's TSC rate, not a measured core clock; no turbo, no frequency drops)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "cpu MHz":
                return float(value) * 1e6
    except (OSError, ValueError):
        pass
    return None


CLOCK_HZ = nominal_hz()


def cycles_per_byte(row: Row) -> float | None:
    return row.per_item * CLOCK_HZ if CLOCK_HZ and row.unit == "byte" else None


def fmt_per_item(row: Row) -> str:
    text = f"{fmt_time(row.per_item)}/{row.unit}"
    if row.unit == "byte" and row.per_item > 0:
        text += f" ({1 / row.per_item / 1e6:,.0f} MB/s"
        cpb = cycles_per_byte(row)
        text += f", {cpb:.2f} cycles/byte)" if cpb is not None else ")"
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
    clock = f"{CLOCK_HZ / 1e6:,.0f} MHz" if CLOCK_HZ else "unknown (no cpu MHz in /proc/cpuinfo)"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        f"- CPU: {model}; {os.cpu_count()} logical cores; flags: {have}",
        f"- Python {python} ({platform.python_implementation()}), cryptography {crypto_version}",
        f"- vaultkit backend: {backend_text}",
        f"- command: `{COMMAND}`; date: {data.get('datetime', 'unknown')}; load average "
        f"when the report was written (1, 5, 15 min): {load}",
        f"- cycles/byte = time per byte x the nominal clock, {clock} (`cpu MHz` of "
        "/proc/cpuinfo), not a measured cycle count: hardware cycle counters (`perf stat -e "
        "cycles`) are often unavailable in VMs, and turbo or a shared core moves the real clock.",
        ARM64_NOTE,
    ]


def shared_note(
    startup: dict[str, Any] | None, paths: list[tuple[dict[str, Any], list[Row]]]
) -> list[str]:
    """A line saying the machine was shared when a load average recorded during the run (by
    startup.py and paths.py) reached the number of cores: times are then inflated and noisy."""
    loads = [float(e.get(k, 0.0)) for e, _ in paths for k in ("load_before", "load_after")]
    if startup is not None:
        loads += [float(startup.get(k, 0.0)) for k in ("load_before", "load_after")]
    loads = [x for x in loads if x > 0]  # paths not run record none
    cores = os.cpu_count() or 1
    if not loads or max(loads) < cores:
        return []
    return [
        f"- shared, noisy machine: load averages of {min(loads):.1f} to {max(loads):.1f} were "
        f"recorded during the run on {cores} cores (other jobs ran on the same cores), so "
        "absolute times are inflated and vary between runs, single calls most; the ratios to the "
        "peers measured in the same run are the figures to compare (`make bench-check` compares "
        "ratios, not times)."
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
    notes = sorted({r.note for r in rows if r.note})
    if notes:
        lines += ["", *notes]
    return lines, summary


# Per-core lower bounds at 3 GHz from issue 3 (native core): FF1-AES256 on 16 digits is ~10
# serial AES blocks, FF1-SM4 ~10 serial SM4 blocks, an SM4-GCM field ~3 SM4 blocks + GHASH.
LIMITS = (
    ("vaultkit FF1-AES256 encrypt_many", "FF1-AES256 token, 16 digits", 0.25e-6),
    ("vaultkit FF1-SM4 encrypt_many", "FF1-SM4 token, 16 digits (serial)", 1.1e-6),
    ("vaultkit SM4GCM.encrypt_many", "SM4-GCM 32-byte field", 0.13e-6),
)


# Targets between two vaultkit rows of the same run (no peer: the reference is vaultkit's own
# other call): (row label, reference row label, largest allowed time ratio row / reference).
# Issue 16 item 3: one Vault.decrypt costs at most 1.3x one Vault.encrypt.
RATIO_TARGETS = (
    (
        "Vault.decrypt (AES-256-GCM, column context)",
        "Vault.encrypt (AES-256-GCM, column context)",
        1.3,
    ),
    ("Vault.decrypt (SM4-GCM, column context)", "Vault.encrypt (SM4-GCM, column context)", 1.3),
)


def ratio_targets(rows: list[Row]) -> list[str]:
    """The summary lines of :data:`RATIO_TARGETS` whose rows were both measured."""
    by_label = {r.label: r for r in rows if r.role == "vaultkit"}
    out = []
    for label, reference, most in RATIO_TARGETS:
        r, ref = by_label.get(label), by_label.get(reference)
        if r is None or ref is None:
            continue
        ratio = r.per_item / ref.per_item
        met = "yes" if ratio <= most else "no"
        out.append(f"- {r.group}: {label} <= {most:g}x {reference}: {met} ({ratio:.2f}x)")
    return out


# Targets in time per call (issue 16 item 3: one FF1.encrypt of a 16-digit value at most 1.5 µs):
# (row label, largest allowed time per item in seconds). Absolute, so only meaningful with the
# machine beside it; the FF1-SM4 row is bounded by SM4's serial latency (docs/native.md).
TIME_TARGETS = (
    ("vaultkit FF1-AES256 encrypt", 1.5e-6),
    ("vaultkit FF1-SM4 encrypt", 1.5e-6),
)


def time_targets(rows: list[Row]) -> list[str]:
    """The summary lines of :data:`TIME_TARGETS` whose rows were measured."""
    by_label = {r.label: r for r in rows if r.role == "vaultkit"}
    out = []
    for label, most in TIME_TARGETS:
        r = by_label.get(label)
        if r is not None:
            met = "yes" if r.per_item <= most else "no"
            out.append(
                f"- {r.group}: {label} at most {fmt_time(most)} per call on this machine: "
                f"{met} ({fmt_time(r.per_item)})"
            )
    return out


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


PATHS_INTRO = [
    "Each CPU path the x86 native core has, forced with `VAULTKIT_CPU_MASK` (docs/native.md "
    "section 3) in its own `pytest benchmarks/bench_paths.py` run by `benchmarks/paths.py`, so "
    "every figure has its peer in the same run. The peers (cryptography/OpenSSL, ff3) are not "
    "masked: they run their own dispatch on this CPU. `aesni-avx2` is the Hygon C86 / AMD Zen 1 "
    "class (AES-NI, AVX2, PCLMULQDQ; no VAES, GFNI or AVX-512). vaultkit has no public SM4-CTR: "
    "its SM4-ECB row is the CTR keystream (CTR = ECB of the counter blocks, then one XOR). "
    f"Published reference point: libgcrypt's SM4-CTR, about {LIBGCRYPT_CTR_CPB} cycles/byte with "
    "GFNI/AVX2.",
]
# (column title, group suffix in bench_paths.py) of the paths overview table
OVERVIEW = (
    ("SM4-ECB 1 MiB", "SM4-ECB and SM4-CTR, 1 MiB"),
    ("SM4-GCM 1 MiB", "SM4-GCM, 1 MiB message"),
    ("SM4-GCM fields encrypt_many", "SM4-GCM encrypt_many, 32-byte fields"),
    ("FF1-SM4 encrypt_many", "FF1-SM4 encrypt_many, 16-digit cards"),
)


def overview_cell(rows: list[Row]) -> str:
    """vaultkit's figure in a group and its ratio to the first peer (target verdict if any)."""
    mine = [r for r in rows if r.role == "vaultkit"]
    peers = {r.label: r for r in rows if r.role == "peer"}
    if not mine:
        return "-"
    r = mine[0]
    if r.unit == "byte":
        cpb = cycles_per_byte(r)
        text = f"{1 / r.per_item / 1e6:,.0f} MB/s" + (f", {cpb:.2f} c/B" if cpb else "")
    else:
        text = fmt_time(r.per_item) + "/item"
    for label, required in r.targets.items():
        if label in peers:
            ratio = peers[label].per_item / r.per_item
            text += f"; {ratio:.1f}x {peers[label].label} (>= {required:g}x: "
            text += ("yes" if ratio >= required else "no") + ")"
            break
    else:
        if peers:
            p = next(iter(peers.values()))
            text += f"; {p.label}: {fmt_ratio(p.per_item / r.per_item)}"
    return text


def load_paths(manifest: Path) -> list[tuple[dict[str, Any], list[Row]]]:
    """Each manifest entry with the rows of its run (none for a path that was not run)."""
    out = []
    for entry in json.loads(manifest.read_text()):
        rows: list[Row] = []
        if "json" in entry:
            _, rows = load(manifest.parent / str(entry["json"]))
        out.append((entry, rows))
    return out


def paths_section(paths: list[tuple[dict[str, Any], list[Row]]]) -> tuple[list[str], list[str]]:
    head = ["| path | mask | load before / after | " + " | ".join(t for t, _ in OVERVIEW) + " |"]
    head.append("|---" * (3 + len(OVERVIEW)) + "|")
    body, summary = [], []
    for entry, rows in paths:
        name, mask = entry["name"], entry["mask"]
        if not rows:
            why = entry.get("skipped", "not run")
            cells = " | ".join(["not runnable"] * len(OVERVIEW))
            head.append(f"| {name} | {mask} | - | {cells} |")
            body += [f"### CPU path {name} (`VAULTKIT_CPU_MASK={mask}`)", "",
                     f"Not measured: needs {entry.get('needs', '?')}; {why}.", ""]  # fmt: skip
            continue
        groups: dict[str, list[Row]] = {}
        for r in rows:
            groups.setdefault(r.group, []).append(r)
        by_suffix = {g.split(": ", 1)[-1]: g for g in groups}
        cells = [overview_cell(groups.get(by_suffix.get(s, ""), [])) for _, s in OVERVIEW]
        load = f"{entry.get('load_before', 0):.1f} / {entry.get('load_after', 0):.1f}"
        head.append(f"| {name} | {mask} | {load} | " + " | ".join(cells) + " |")
        body += [f"### CPU path {name} (`VAULTKIT_CPU_MASK={mask}`)", ""]
        for g in sorted(groups):
            table, targets = group_table(groups[g])
            body += [f"#### {g}", "", *table, ""]
            summary += targets
    return ["## CPU paths", "", *PATHS_INTRO, "", *head, "", *body], summary


def _door(name: str, row: dict[str, Any]) -> str:
    """``passphrase``, ``key_file`` or ``sm2`` (runs before the field: ``--`` meant SM2)."""
    return str(row.get("door") or ("sm2" if "--" in name else "passphrase"))


def startup_section(m: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The "CLI start-up and memory" section and its target lines (benchmarks/startup.py)."""
    h, f, s = m["help"], m["floor"], m["stream"]
    help_ok = h["cpu_median"] < HELP_GOAL_S and h["rss_mb"] < HELP_GOAL_MB
    doors: dict[str, list[float]] = {}
    for name, r in s.items():
        doors.setdefault(_door(name, r), []).append(r["rss_mb"])
    launcher = m.get("launcher_mb")
    how = (
        [
            "peak RSS are the child's own (CPU from `os.wait4`, peak RSS from GNU `time -f %M`,",
            "a fresh launcher, so the benchmark's own RSS does not floor it; the launcher's own",
            f"floor is {launcher:.1f} MB), so other jobs move only the wall time. Load",
        ]
        if launcher is not None
        else [
            "peak RSS are the child's own (`os.wait4`), so other jobs move only the wall time. Load"
        ]
    )
    lines = [
        "## CLI start-up and memory",
        "",
        f"`benchmarks/startup.py`: each command a child process, {m['runs']} runs; CPU time and",
        *how,
        f"average {m['load_before']:.1f} before, {m['load_after']:.1f} after.",
        "",
        "| command | wall (min / median) | CPU user+sys (min / median) | peak RSS |",
        "|---|---|---|---|",
    ]
    for label, r in (("`vaultkit --help`", h), ("`python -c pass` (floor)", f)):
        lines.append(
            f"| {label} | {r['wall_min']:.2f} s / {r['wall_median']:.2f} s | "
            f"{r['cpu_min']:.2f} s / {r['cpu_median']:.2f} s | {r['rss_mb']:.1f} MB |"
        )
    key = {"passphrase": ", passphrase key ring", "key_file": ", key ring by key file", "sm2": ""}
    for name, r in s.items():
        command = name.removesuffix(" (key file)")
        lines.append(
            f"| `vaultkit {command} - -` on a {m['stream_mib']} MiB pipe{key[_door(name, r)]} | "
            f"{r['wall']:.2f} s | | {r['rss_mb']:.1f} MB |"
        )
    kdf = m.get("kdf")
    if kdf and "floor_mb" in kdf:
        lines.append(
            f"| `python -c 'import click, hashlib; hashlib.scrypt(...)'` (a passphrase door's "
            f"floor) | | | {kdf['floor_mb']:.1f} MB |"
        )
    targets = [
        f"- `vaultkit --help` under {HELP_GOAL_S} s CPU and {HELP_GOAL_MB:.0f} MB: "
        f"{'yes' if help_ok else 'no'} ({h['cpu_median']:.2f} s, {h['rss_mb']:.1f} MB)",
    ]
    keyless = doors.get("sm2", []) + doors.get("key_file", [])
    passphrase = doors.get("passphrase", [])
    if kdf and "floor_mb" in kdf:  # the passphrase door's goal is the KDF's memory + a bound
        if keyless:
            peak = max(keyless)
            targets.append(
                f"- `encrypt-file`/`decrypt-file` peak RSS under {STREAM_GOAL_MB:.0f} MB on a "
                "pipe with an SM2 recipient or a key ring opened without a passphrase (key file): "
                f"{'yes' if peak < STREAM_GOAL_MB else 'no'} ({peak:.1f} MB)"
            )
        if passphrase:
            peak, goal = max(passphrase), passphrase_goal_mb(kdf["scrypt_mib"])
            targets.append(
                "- the same with a passphrase key ring, under scrypt's 128 * r * N = "
                f"{kdf['scrypt_mib']:.0f} MiB + {KDF_OVERHEAD_GOAL_MB:.0f} MB: "
                f"{'yes' if peak < goal else 'no'} ({peak:.1f} MB = the KDF + "
                f"{peak - kdf['scrypt_mib']:.1f} MB; {STREAM_GOAL_MB:.0f} MB is below the "
                f"floor of click + hashlib + scrypt alone, {kdf['floor_mb']:.1f} MB)"
            )
    else:  # a run that did not measure the KDF: every door judged against the one goal
        if passphrase:
            peak = max(passphrase)
            targets.append(
                f"- `encrypt-file`/`decrypt-file` peak RSS under {STREAM_GOAL_MB:.0f} MB on a "
                f"pipe: {'yes' if peak < STREAM_GOAL_MB else 'no'} ({peak:.1f} MB)"
            )
        if keyless:
            peak = max(keyless)
            targets.append(
                "- the same with an SM2 recipient (`--recipient` / `--identity`, no key ring): "
                f"{'yes' if peak < STREAM_GOAL_MB else 'no'} ({peak:.1f} MB)"
            )
    if kdf and "floor_mb" in kdf:
        log_n = int(kdf["scrypt_n"]).bit_length() - 1
        lines += [
            "",
            f"A passphrase key ring's KEK comes from scrypt (N = 2^{log_n}, r = "
            f"{kdf['scrypt_r']}: a work space of 128 * r * N = {kdf['scrypt_mib']:.0f} MiB while "
            "it runs, RFC 7914 section 6; a security parameter stored in the ring, not lowered "
            "here). The CLI opens the ring before it imports the ciphers (cryptography, the "
            "native core) and the stream, so the KDF runs over the interpreter, click, OpenSSL's "
            "hashlib and the key ring's modules only: the passphrase rows are the KDF's work "
            "space plus that, and the interpreter with click and the same scrypt alone "
            f"peak at {kdf['floor_mb']:.1f} MB. Backup hosts that must stay under "
            f"{STREAM_GOAL_MB:.0f} MB use an SM2 recipient or a key file KEK.",
        ]
    return [*lines, ""], targets


SPARK_GOAL = 0.8  # protect on local[2] against one process's *_many (issue 17)


def spark_section(m: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The "Spark" section and its target line (benchmarks/bench_spark.py)."""
    s, j, mach = m["spark"], m["jdbc"], m["machine"]
    ok = m["ratio"] >= SPARK_GOAL
    lines = [
        "## Spark",
        "",
        f"`{m['command']}`: {m['rows']:,} rows (19-digit card tokenized with FF1-SM4, ID number",
        f"encrypted with SM4-GCM), `local[2]`, pyspark {mach['pyspark']}, {mach['cpus']} CPUs,",
        f"load average {mach['load'][0]:.1f} at the end. Best of 3 wall-clock runs.",
        "",
        "| what | rows/s |",
        "|---|---|",
        f"| one process: `tokenize_many` + `encrypt_many`, batches of 10,000 | "
        f"{m['single_rows_per_s']:,.0f} |",
        f"| Spark `protect` (one `mapInArrow` pass), Parquet in, `noop` out | {s['best']:,.0f} |",
        f"| the same, first run (each worker opens its Vault) | {s['first']:,.0f} |",
        f"| Spark floor: identity `mapInArrow`, no encryption | {s['floor']:,.0f} |",
        f"| `jdbc_reencrypt` end to end on PostgreSQL ({j['rows']:,} rows, 2 columns) | "
        f"{j['rows_per_s']:,.0f} |",
        "",
        f"A rerun of `jdbc_reencrypt` (nothing stale) took {j['rerun_seconds']:.1f} s and staged "
        "0 rows.",
    ]
    target = (
        f"- Spark `protect` at >= {SPARK_GOAL}x one process's batch calls: "
        f"{'yes' if ok else 'no'} ({m['ratio']:.2f}x)"
    )
    return [*lines, ""], [target]


def service_section(m: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The "Key service" section and its target lines (benchmarks/bench_service.py)."""
    echo, tok, batch, load = m["echo"], m["tokenize"], m["batch"], m["load"]
    ratio50, ratio99 = tok["p50"] / echo["p50"], tok["p99"] / echo["p99"]
    rate = batch["items"] / batch["median"]
    clean = load["errors"] == 0 and load["wrong"] == 0
    audited = load["audit_records"] == load["requests"]
    lines = [
        "## Key service (loopback)",
        "",
        "`benchmarks/bench_service.py`: `vaultkit serve` (uvicorn + FastAPI, bearer token,",
        "grants, file audit trail) in a child process, `RemoteVault` clients in this one, on",
        f"loopback. Load average {m['load_before']:.1f} before, {m['load_after']:.1f} after.",
        "",
        "| measure | p50 | p99 | calls |",
        "|---|---|---|---|",
        f"| `POST /v1/echo` (same stack, no Vault, no trail) | {fmt_time(echo['p50'])} | "
        f"{fmt_time(echo['p99'])} | {echo['n']} |",
        f"| `RemoteVault.tokenize` (file audit trail: one fsync per call) | "
        f"{fmt_time(tok['p50'])} | {fmt_time(tok['p99'])} | {tok['n']} |",
        *(
            [
                f"| `RemoteVault.tokenize` (no trail) | {fmt_time(bare['p50'])} | "
                f"{fmt_time(bare['p99'])} | {bare['n']} |"
            ]
            if (bare := m.get("tokenize_untrailed"))
            else []
        ),
        f"| 32-client load, per request | {fmt_time(load['p50'])} | {fmt_time(load['p99'])} | "
        f"{load['requests']} |",
        "",
        f"- `tokenize_many` of {batch['items']:,} cards per request: median "
        f"{fmt_time(batch['median'])}, {rate:,.0f} tokens/s",
        f"- {load['clients']} clients for {load['seconds']:.1f} s, mixed single and batch calls: "
        f"{load['requests']:,} requests ({load['requests'] / load['seconds']:,.0f}/s), "
        f"{load['items']:,} values ({load['items'] / load['seconds']:,.0f}/s), "
        f"{load['errors']} errors, {load['wrong']} wrong answers, "
        f"{load['audit_records']:,} audit records",
        "",
    ]
    bare = m.get("tokenize_untrailed")
    untrailed = (
        f"; without a trail p50 {bare['p50'] / echo['p50']:.2f}x, "
        f"p99 {bare['p99'] / echo['p99']:.2f}x"
        if bare
        else ""
    )
    targets = [
        f"- Key service: single `RemoteVault.tokenize` at most 1.5x the echo endpoint: "
        f"{'yes' if ratio50 <= 1.5 else 'no'} (with the file trail p50 {ratio50:.2f}x, "
        f"p99 {ratio99:.2f}x{untrailed})",
        f"- Key service: `tokenize_many` at least 100,000 tokens/s: "
        f"{'yes' if rate >= 100_000 else 'no'} ({rate:,.0f}/s)",
        f"- Key service: 32-client load with zero errors, every answer correct, audit records = "
        f"requests: {'yes' if clean and audited else 'no'}",
    ]
    return lines, targets


def render(
    data: dict[str, Any],
    rows: list[Row],
    paths: list[tuple[dict[str, Any], list[Row]]] = (),
    startup: dict[str, Any] | None = None,
    spark: dict[str, Any] | None = None,
    service: dict[str, Any] | None = None,
) -> str:
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    body, singles, summary = [], [], []
    for name in sorted(groups):
        table, targets = group_table(groups[name])
        if "single" in name:  # one value per call: the section application code cares about
            singles += [f"### {name}", "", *table, ""]
        else:
            body += [f"## {name}", "", *table, ""]
        summary += targets
    summary += ratio_targets(rows)
    summary += time_targets(rows)
    single_head = ["## Single calls", "", "One value per call, as most application code calls.", ""]
    if not singles:
        single_head = []
    path_lines: list[str] = []
    if paths:
        path_lines, path_targets = paths_section(list(paths))
        summary += path_targets
    startup_lines: list[str] = []
    if startup is not None:
        startup_lines, startup_targets = startup_section(startup)
        summary += startup_targets
    spark_lines: list[str] = []
    if spark is not None:
        spark_lines, spark_targets = spark_section(spark)
        summary += spark_targets
    service_lines: list[str] = []
    if service is not None:
        service_lines, service_targets = service_section(service)
        summary += service_targets
    out = [
        "# vaultkit benchmark results",
        "",
        f"Generated by `benchmarks/report.py` from a `{COMMAND}` run. Per item = median time of",
        "one call divided by the values (or bytes) it processed; ratios are peer / vaultkit.",
        "",
        "## Machine",
        "",
        *machine(data),
        *shared_note(startup, paths),
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
        *path_lines,
        *startup_lines,
        *spark_lines,
        *service_lines,
        *single_head,
        *singles,
        *body,
    ]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str]) -> int:
    args = list(argv[1:])
    manifest = None
    if "--paths" in args:
        i = args.index("--paths")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        manifest = Path(args[i + 1])
        del args[i : i + 2]
    startup = None
    if "--startup" in args:
        i = args.index("--startup")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        startup = json.loads(Path(args[i + 1]).read_text())
        del args[i : i + 2]
    spark = None
    if "--spark" in args:
        i = args.index("--spark")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        spark = json.loads(Path(args[i + 1]).read_text())
        del args[i : i + 2]
    service = None
    if "--service" in args:
        i = args.index("--service")
        if i + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        service = json.loads(Path(args[i + 1]).read_text())
        del args[i : i + 2]
    if len(args) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    data, rows = load(Path(args[0]))
    paths = load_paths(manifest) if manifest is not None else []
    target = Path(args[1]) if len(args) == 2 else Path(__file__).with_name("RESULTS.md")
    target.write_text(render(data, rows, paths, startup, spark, service))
    count = len(rows) + sum(len(r) for _, r in paths)
    print(f"wrote {target} ({count} benchmarks)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
