"""Constant-time checks of the native core with valgrind memcheck (the ctgrind technique).

Every ``tests/native/ctgrind/ct_*.c`` program links ``native/src/*.c`` directly, marks key and data
bytes undefined with memcheck client requests and runs the primitives: memcheck then reports any
branch ("Conditional jump or move depends on uninitialised value") or memory index ("Use of
uninitialised value") derived from a secret. The same programs run with ``--defined`` (nothing
marked) under plain memcheck must show zero memory errors. A negative control, a table-lookup
S-box compiled only into its own test program, must be flagged: the harness can see a leak.

valgrind (3.19) neither emulates AVX-512 nor shows GFNI and VAES in its synthetic CPUID, so the
``gfni-avx512``, ``gfni-avx2`` and ``vaes-avx2`` SM4 paths are not run here: they share the data
layout, round structure and L of the ``aesni-avx2`` path that is checked, differ only in
register-only instructions (GF2P8AFFINE*, VAESENCLAST, VPROLD; see docs/native.md) and are
checked for correctness by tests/native/test_cipher_native.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.valgrind

ROOT = Path(__file__).resolve().parents[2]
CTGRIND = Path(__file__).parent / "ctgrind"
NATIVE_SRC = sorted((ROOT / "native" / "src").glob("*.c"))
PROGRAMS = sorted(p.stem for p in CTGRIND.glob("ct_*.c"))
LEAK_PATTERNS = (
    "Conditional jump or move depends on uninitialised value",
    "Use of uninitialised value",
)
CT_SM4_PATHS = {"gfni-avx512", "gfni-avx2", "vaes-avx2", "aesni-avx2", "aesni", "portable-ct"}
# VAULTKIT_CPU_MASK values each program runs under: every feature, and none (portable paths).
MASKS = ["", "0"]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: run `make system-deps` (scripts/system-deps.sh)")
    return path


def _compile(sources: list[Path], out: Path) -> Path:
    cc = os.environ.get("CC") or _tool("cc")
    cmd = [cc, "-O1", "-g", "-std=c11", "-I", str(ROOT / "native" / "include"),
           "-I", str(ROOT / "native" / "src"), *map(str, sources), "-o", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"compiling {out.name} failed:\n{proc.stderr}"
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every ct_*.c program plus the negative control, compiled once into a temp dir."""
    _tool("valgrind")
    out = tmp_path_factory.mktemp("ctgrind")
    progs = {name: _compile([*NATIVE_SRC, CTGRIND / f"{name}.c"], out / name) for name in PROGRAMS}
    progs["negative"] = _compile([CTGRIND / "negative_table_sbox.c"], out / "negative")
    return progs


def _valgrind(
    prog: Path, *args: str, mask: str = "", extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("VAULTKIT_CPU_MASK", None)
    if mask:
        env["VAULTKIT_CPU_MASK"] = mask
    cmd = [_tool("valgrind"), "--error-exitcode=1", *extra, str(prog), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)


def test_harness_programs_exist() -> None:
    assert "ct_cipher" in PROGRAMS


@pytest.mark.parametrize("mask", MASKS, ids=["all-features", "mask-0"])
@pytest.mark.parametrize("program", PROGRAMS)
def test_ctgrind_no_secret_dependent_branch_or_index(
    built: dict[str, Path], program: str, mask: str
) -> None:
    proc = _valgrind(built[program], mask=mask, extra=("--track-origins=yes",))
    leaks = [p for p in LEAK_PATTERNS if p in proc.stderr]
    assert not leaks, f"{program}: secret-dependent behaviour:\n{proc.stderr[-6000:]}"
    assert proc.returncode == 0, f"{program} failed under valgrind:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.rstrip().endswith("OK"), proc.stdout


@pytest.mark.parametrize("program", PROGRAMS)
def test_memcheck_defined_inputs_zero_errors(built: dict[str, Path], program: str) -> None:
    proc = _valgrind(built[program], "--defined", extra=("--leak-check=full",))
    assert proc.returncode == 0, f"{program}: memory errors:\n{proc.stderr[-6000:]}"
    assert re.search(r"ERROR SUMMARY: 0 errors", proc.stderr), proc.stderr[-2000:]
    assert proc.stdout.rstrip().endswith("OK"), proc.stdout


def test_ctgrind_cipher_covers_every_path_valgrind_runs(built: dict[str, Path]) -> None:
    full = _valgrind(built["ct_cipher"]).stdout
    portable = _valgrind(built["ct_cipher"], mask="0").stdout
    for line in ("ran sm4 portable-ct", "ran sm4 aesni", "ran sm4 aesni-avx2",
                 "ran sm4 key schedule aesni",
                 "ran ghash portable-ct", "ran ghash pclmul", "ran gcm sm4 ghash=pclmul",
                 "ran gcm aes ghash=pclmul", "ran aes aesni"):  # fmt: skip
        assert line in full, full
    assert "ran gcm sm4 ghash=portable-ct" in portable, portable
    assert "sm4 selected portable-ct" in portable, portable


def test_negative_control_table_sbox_is_flagged(built: dict[str, Path]) -> None:
    proc = _valgrind(built["negative"], extra=("--track-origins=yes",))
    assert proc.returncode != 0
    assert "Use of uninitialised value" in proc.stderr, proc.stderr


def test_sm4_impl_is_constant_time_under_every_cpu_mask(tmp_path: Path) -> None:
    main = tmp_path / "impl.c"
    main.write_text('#include <stdio.h>\n#include "vaultkit.h"\n'
                    'int main(void) { puts(vk_sm4_impl()); return 0; }\n')  # fmt: skip
    prog = _compile([*NATIVE_SRC, main], tmp_path / "impl")
    seen = set()
    for mask in range(128):
        env = {**os.environ, "VAULTKIT_CPU_MASK": str(mask)}
        out = subprocess.run([str(prog)], capture_output=True, text=True, env=env, check=True)
        seen.add(out.stdout.strip())
    assert seen <= CT_SM4_PATHS, seen
    assert "portable-ct" in seen


def test_module_reports_constant_time_sm4_under_masks() -> None:
    code = (
        "from vaultkit.hazmat.bindings import _native as n; "
        "print(n.ffi.string(n.lib.vk_sm4_impl()).decode())"
    )
    for mask in ("0", "11", "15", "47", "63", "127"):
        env = {**os.environ, "VAULTKIT_CPU_MASK": mask}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True)  # fmt: skip
        assert out.stdout.strip() in CT_SM4_PATHS


def test_no_sm4_sbox_table_in_native_sources() -> None:
    # The first bytes of the GB/T 32907-2016 S-box in any C spelling: no table lookup exists.
    pattern = re.compile(r"0x0*d6\s*,\s*0x0*90\s*,\s*0x0*e9\s*,\s*0x0*fe", re.IGNORECASE)
    for path in NATIVE_SRC + sorted((ROOT / "native" / "src").glob("*.h")):
        text = path.read_text()
        assert not pattern.search(text), f"{path.name} holds an SM4 S-box table"
        assert "d690e9fe" not in text.lower().replace(" ", ""), path.name
