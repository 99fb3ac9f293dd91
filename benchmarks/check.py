"""``make bench-check``: a short benchmark subset compared with the committed RESULTS.md.

Usage: python benchmarks/check.py [RESULTS.md] [--tolerance 0.3]

Runs a subset (the CPU-path benchmarks forced onto the aesni-avx2 path when this CPU can run it,
else the default path; the single-call FF1 and HMAC-SM3 rows; the blind-index batch) and compares
the speed-ups, never absolute times: for each vaultkit row and peer that both the fresh run and
RESULTS.md have (same table, same labels), the fresh ratio peer / vaultkit must be at least
(1 - tolerance) x the committed one. Exits 1 listing every ratio more than 30% worse, or when no
ratio could be compared (RESULTS.md from another layout); 0 otherwise. Not part of .ci/run: use
it on a quiet machine before a release (README.md).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import paths  # noqa: E402
import report  # noqa: E402

SUBSET = (
    # (pytest target, -k expression or None, VAULTKIT_CPU_MASK or None)
    ("bench_paths.py", None, 15),
    ("bench_primitives.py", "ff1_single or hmac", None),
    ("bench_tokens.py", "blind_index", None),
)
_RATIO = re.compile(r"^(?P<peer>.+): (?P<x>[0-9.]+)x (?P<dir>faster|slower)$")

Key = tuple[str, str, str]  # (table, vaultkit label, peer label)


def committed_ratios(results: Path) -> dict[Key, float]:
    """Every "vs peers" ratio of RESULTS.md's tables, keyed by (table heading, label, peer)."""
    out: dict[Key, float] = {}
    group = ""
    for line in results.read_text().splitlines():
        if line.startswith("#"):
            group = line.lstrip("#").strip()
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[1] != "vaultkit":
            continue
        for part in cells[3].split("<br>"):
            m = _RATIO.match(part.strip())
            if m:
                x = float(m["x"])
                out[(group, cells[0], m["peer"])] = x if m["dir"] == "faster" else 1 / x
    return out


def fresh_ratios(rows: list[report.Row]) -> dict[Key, float]:
    out: dict[Key, float] = {}
    by_group: dict[str, list[report.Row]] = {}
    for r in rows:
        by_group.setdefault(r.group, []).append(r)
    for group, members in by_group.items():
        peers = [r for r in members if r.role == "peer"]
        for r in members:
            if r.role == "vaultkit":
                for p in peers:
                    out[(group, r.label, p.label)] = p.per_item / r.per_item
    return out


def run_subset(tmp: Path) -> list[report.Row]:
    rows: list[report.Row] = []
    for i, (target, expr, mask) in enumerate(SUBSET):
        env = None
        if mask is not None:
            wanted = next(name for name, m, _ in paths.PATHS if m == mask)
            env = paths.path_env(mask) if paths.probe(mask) == wanted else None
        out = tmp / f"check-{i}.json"
        cmd = [
            sys.executable, "-m", "pytest", str(HERE / target), "-q", "-p", "no:cacheprovider",
            "--benchmark-only", f"--benchmark-json={out}",
        ]  # fmt: skip
        if expr:
            cmd += ["-k", expr]
        if subprocess.run(cmd, env=env).returncode != 0:
            raise SystemExit(f"bench-check: {target} failed")
        rows += report.load(out)[1]
    return rows


def compare(old: dict[Key, float], new: dict[Key, float], tolerance: float) -> list[str]:
    """Lines describing every compared ratio; those failing start with "WORSE"."""
    lines = []
    for key in sorted(set(old) & set(new)):
        group, label, peer = key
        floor = old[key] * (1 - tolerance)
        verdict = "ok   " if new[key] >= floor else "WORSE"
        lines.append(
            f"{verdict} {group}: {label} vs {peer}: {new[key]:.2f}x now, "
            f"{old[key]:.2f}x committed (floor {floor:.2f}x)"
        )
    return lines


def main(argv: list[str]) -> int:
    args = list(argv[1:])
    tolerance = 0.3
    if "--tolerance" in args:
        i = args.index("--tolerance")
        tolerance = float(args[i + 1])
        del args[i : i + 2]
    results = Path(args[0]) if args else HERE / "RESULTS.md"
    old = committed_ratios(results)
    with tempfile.TemporaryDirectory() as tmp:
        new = fresh_ratios(run_subset(Path(tmp)))
    lines = compare(old, new, tolerance)
    print("\n".join(lines))
    if not lines:
        print(f"bench-check: no ratio of this run is in {results}; regenerate it with make bench")
        return 1
    worse = [line for line in lines if line.startswith("WORSE")]
    print(f"bench-check: {len(lines)} ratios compared, {len(worse)} more than "
          f"{tolerance:.0%} worse than {results}")  # fmt: skip
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
