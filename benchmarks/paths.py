"""Run benchmarks/bench_paths.py once per x86 CPU path, each forced with VAULTKIT_CPU_MASK.

Usage: python benchmarks/paths.py [OUT_DIR] [-- extra pytest args]   (``make bench`` runs it)

For each path (docs/native.md section 3) a subprocess first asks ``vk_sm4_impl()`` under the
mask: a path the CPU cannot run (e.g. GFNI on an AMD Zen 3) gives another name and is recorded
as not runnable instead of being measured under a wrong label. Each runnable path gets its own
pytest run (the mask is read once per process), so every figure has its peer in the same run.
Writes ``OUT_DIR/.path-<name>.json`` per path and the manifest ``OUT_DIR/.paths.json``
(name, mask, JSON file or the reason it was not run, load average before and after), which
``report.py --paths`` turns into the "CPU paths" sections of RESULTS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (path name as vk_sm4_impl() reports it, VAULTKIT_CPU_MASK forcing it, what it needs)
PATHS = (
    ("gfni-avx512", 127, "GFNI, AVX-512F/BW/VL, AVX2, AES-NI, SSSE3"),
    ("gfni-avx2", 63, "GFNI, AVX2, AES-NI, SSSE3"),
    ("vaes-avx2", 47, "VAES, AVX2, AES-NI, SSSE3"),
    ("aesni-avx2", 15, "AVX2, AES-NI, SSSE3 (the Hygon C86 / AMD Zen 1 class)"),
    ("portable-ct", 0, "nothing"),
)
_PROBE = (
    "from vaultkit.hazmat import bindings\n"
    "ffi, lib = bindings.native()\n"
    "print(ffi.string(lib.vk_sm4_impl()).decode())\n"
)


def path_env(mask: int) -> dict[str, str]:
    env = dict(os.environ)
    env["VAULTKIT_CPU_MASK"] = str(mask)
    return env


def probe(mask: int) -> str:
    """The SM4 path a process picks under ``mask`` (empty if the native core is missing)."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=path_env(mask), capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def run_path(name: str, mask: int, out: Path, extra: list[str]) -> dict[str, object]:
    entry: dict[str, object] = {"name": name, "mask": mask}
    got = probe(mask)
    if got != name:
        entry["skipped"] = f"this CPU runs {got or 'no native core'} under mask {mask}"
        return entry
    target = out / f".path-{name}.json"
    entry["load_before"] = os.getloadavg()[0]
    cmd = [
        sys.executable, "-m", "pytest", str(HERE / "bench_paths.py"), "-q",
        "-p", "no:cacheprovider", "--benchmark-only", f"--benchmark-json={target}", *extra,
    ]  # fmt: skip
    done = subprocess.run(cmd, env=path_env(mask))
    entry["load_after"] = os.getloadavg()[0]
    if done.returncode != 0:
        raise SystemExit(f"bench_paths.py failed on {name} (mask {mask})")
    entry["json"] = target.name
    return entry


def main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    out = Path(argv[1]) if len(argv) > 1 else HERE
    for old in out.glob(".path-*.json"):
        old.unlink()
    needs = {name: need for name, _, need in PATHS}
    manifest = []
    for name, mask, _ in PATHS:
        entry = run_path(name, mask, out, extra)
        entry["needs"] = needs[name]
        manifest.append(entry)
    (out / ".paths.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {out / '.paths.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
