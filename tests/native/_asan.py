"""Builds a C harness of tests/native/ctgrind/ with native/src under AddressSanitizer + UBSan and
runs it with all CPU features and with the portable paths (VAULTKIT_CPU_MASK=0)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_under_asan(tmp_path: Path, harness: str, rounds: str, portable_rounds: str) -> None:
    cc = os.environ.get("CC") or "cc"
    prog = tmp_path / harness
    sources = [str(p) for p in sorted((ROOT / "native" / "src").glob("*.c"))]
    build = subprocess.run(
        [cc, "-O1", "-g", "-std=c11", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
         "-I", str(ROOT / "native" / "include"), "-I", str(ROOT / "native" / "src"), *sources,
         str(ROOT / "tests" / "native" / "ctgrind" / f"{harness}.c"), "-o", str(prog)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    for mask, n in (("", rounds), ("0", portable_rounds)):
        env = {k: v for k, v in os.environ.items() if k != "VAULTKIT_CPU_MASK"}
        if mask:
            env["VAULTKIT_CPU_MASK"] = mask
        run = subprocess.run([str(prog), n, "7"], capture_output=True, text=True, env=env,
                             check=False)  # fmt: skip
        assert run.returncode == 0 and run.stdout.strip().endswith("OK"), run.stdout + run.stderr
