"""The benchmark tooling of issue 16 (benchmarks/paths.py, report.py, check.py) on synthetic runs:
the per-CPU-path sections and cycles/byte in RESULTS.md, the ARM64 sentence, and bench-check's
ratio comparison (parsed back from the rendered RESULTS.md), plus the real path probe."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def tools() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        import check
        import paths
        import report

        yield report, check, paths
    finally:
        sys.path.remove(str(BENCH))


def _bench(group: str, label: str, role: str, items: int, median: float, **info: Any) -> Any:
    extra = {"role": role, "label": label, "items": items, **info}
    return {"group": group, "extra_info": extra, "stats": {"median": median}}


def _run(path: str, gcm_peer_median: float) -> dict[str, Any]:
    g = f"CPU path {path}: SM4-GCM, 1 MiB message"
    return {
        "benchmarks": [
            _bench(g, "vaultkit SM4GCM", "vaultkit", 1 << 20, 0.002, unit="byte",
                   targets={"cryptography SM4-GCM": 4.0}),
            _bench(g, "cryptography SM4-GCM", "peer", 1 << 20, gcm_peer_median, unit="byte"),
        ]
    }  # fmt: skip


def _write(tmp: Path, gcm_peer_median: float) -> tuple[Path, Path]:
    main = {
        "datetime": "2026-12-07T00:00:00",
        "benchmarks": [
            _bench("FF1: single encrypt per call, 16-digit card", "vaultkit FF1 encrypt",
                   "vaultkit", 1000, 0.001),
            _bench("FF1: single encrypt per call, 16-digit card", "ff3 (loop)", "peer", 100, 0.01),
        ],
    }  # fmt: skip
    (tmp / "main.json").write_text(json.dumps(main))
    (tmp / ".path-aesni-avx2.json").write_text(json.dumps(_run("aesni-avx2", gcm_peer_median)))
    manifest = [
        {"name": "gfni-avx512", "mask": 127, "needs": "GFNI", "skipped": "this CPU runs x"},
        {"name": "aesni-avx2", "mask": 15, "needs": "AVX2", "json": ".path-aesni-avx2.json",
         "load_before": 1.0, "load_after": 1.5},
    ]  # fmt: skip
    (tmp / ".paths.json").write_text(json.dumps(manifest))
    return tmp / "main.json", tmp / ".paths.json"


def test_report_has_a_section_per_cpu_path(tools: Any, tmp_path: Path) -> None:
    report, _, _ = tools
    main, manifest = _write(tmp_path, 0.0096)
    out = tmp_path / "RESULTS.md"
    assert report.main(["report.py", str(main), str(out), "--paths", str(manifest)]) == 0
    text = out.read_text()
    assert "ARM64 (aarch64) speed is not measured here" in text
    assert "## CPU paths" in text and "libgcrypt's SM4-CTR, about 2.7 cycles/byte" in text
    assert "### CPU path aesni-avx2 (`VAULTKIT_CPU_MASK=15`)" in text
    assert "Not measured: needs GFNI; this CPU runs x." in text
    assert "## Single calls" in text
    if report.CLOCK_HZ:  # cycles/byte = ns/byte x the nominal clock
        cpb = 0.002 / (1 << 20) * report.CLOCK_HZ
        assert f"{cpb:.2f} cycles/byte" in text
    assert "vaultkit SM4GCM >= 4x vs cryptography SM4-GCM: yes (4.8x)" in text


def test_bench_check_compares_ratios_with_results(tools: Any, tmp_path: Path) -> None:
    report, check, _ = tools
    main, manifest = _write(tmp_path, 0.0096)  # 4.8x
    out = tmp_path / "RESULTS.md"
    report.main(["report.py", str(main), str(out), "--paths", str(manifest)])
    old = check.committed_ratios(out)
    key = ("CPU path aesni-avx2: SM4-GCM, 1 MiB message", "vaultkit SM4GCM", "cryptography SM4-GCM")
    assert old[key] == pytest.approx(4.8)
    assert old[("FF1: single encrypt per call, 16-digit card", "vaultkit FF1 encrypt",
                "ff3 (loop)")] == pytest.approx(100.0)  # fmt: skip
    for peer_median, verdict in ((0.0072, "ok"), (0.0062, "WORSE")):  # 3.6x (-25%), 3.1x (-35%)
        rows = report.load(tmp_path / ".path-aesni-avx2.json")[1]
        new = check.fresh_ratios(
            [r if r.role == "vaultkit" else report.Row(**{**r.__dict__, "median": peer_median})
             for r in rows]
        )  # fmt: skip
        lines = check.compare(old, new, 0.3)
        assert len(lines) == 1 and lines[0].startswith(verdict), lines


def test_path_probe_names_the_forced_path(tools: Any) -> None:
    _, _, paths = tools
    assert paths.probe(0) == "portable-ct"
    assert [name for name, _, _ in paths.PATHS] == [
        "gfni-avx512", "gfni-avx2", "vaes-avx2", "aesni-avx2", "portable-ct",
    ]  # fmt: skip


def test_report_renders_the_startup_measurement(tools: Any, tmp_path: Path) -> None:
    """benchmarks/startup.py's JSON becomes the "CLI start-up and memory" section, with the
    issue's goals judged from the measured figures (here: help met, stream memory missed)."""
    report, _, _ = tools
    main, manifest = _write(tmp_path, 0.0096)
    series = {"wall_min": 0.07, "wall_median": 0.1, "cpu_min": 0.06, "cpu_median": 0.07,
              "rss_mb": 15.3}  # fmt: skip
    startup = {
        "runs": 20, "stream_mib": 512, "load_before": 0.5, "load_after": 0.6,
        "help": series, "floor": {**series, "rss_mb": 8.5},
        "stream": {"encrypt-file": {"wall": 3.0, "rss_mb": 60.5},
                   "decrypt-file": {"wall": 2.0, "rss_mb": 40.0}},
    }  # fmt: skip
    (tmp_path / ".startup.json").write_text(json.dumps(startup))
    out = tmp_path / "RESULTS.md"
    argv = ["report.py", str(main), str(out), "--paths", str(manifest)]
    assert report.main([*argv, "--startup", str(tmp_path / ".startup.json")]) == 0
    text = out.read_text()
    assert "## CLI start-up and memory" in text
    assert "| `vaultkit --help` | 0.07 s / 0.10 s | 0.06 s / 0.07 s | 15.3 MB |" in text
    assert "- `vaultkit --help` under 0.15 s CPU and 35 MB: yes (0.07 s, 15.3 MB)" in text
    assert "peak RSS under 48 MB on a pipe: no (60.5 MB)" in text


def test_time_targets_judge_the_time_per_call(tools: Any) -> None:
    report, _, _ = tools
    group = "FF1: single encrypt per call, 16-digit card"
    rows = [
        report.Row(group, "vaultkit FF1-AES256 encrypt", "vaultkit", 1000, "call", 0.0013),
        report.Row(group, "vaultkit FF1-SM4 encrypt", "vaultkit", 1000, "call", 0.0041),
    ]
    lines = report.time_targets(rows)
    assert lines == [
        f"- {group}: vaultkit FF1-AES256 encrypt at most 1.5 µs per call on this machine: "
        "yes (1.3 µs)",
        f"- {group}: vaultkit FF1-SM4 encrypt at most 1.5 µs per call on this machine: no (4.1 µs)",
    ]
    assert report.time_targets(rows[:0]) == []  # a row not measured gives no line


def test_report_judges_the_passphrase_door_against_its_kdf(tools: Any, tmp_path: Path) -> None:
    """With the KDF measured, rows without a passphrase KDF (SM2, key file) are judged against
    48 MB and the passphrase rows against scrypt's 128 * r * N plus 24 MB, with the floor of
    click + hashlib + scrypt alone beside them."""
    report, _, _ = tools
    main, manifest = _write(tmp_path, 0.0096)
    series = {"wall_min": 0.07, "wall_median": 0.1, "cpu_min": 0.06, "cpu_median": 0.07,
              "rss_mb": 15.3}  # fmt: skip
    startup = {
        "runs": 20, "stream_mib": 512, "load_before": 0.5, "load_after": 0.6,
        "help": series, "floor": {**series, "rss_mb": 8.5},
        "stream": {
            "encrypt-file": {"wall": 3.0, "rss_mb": 53.3, "door": "passphrase"},
            "decrypt-file": {"wall": 2.0, "rss_mb": 57.0, "door": "passphrase"},
            "encrypt-file (key file)": {"wall": 3.0, "rss_mb": 32.4, "door": "key_file"},
            "encrypt-file --recipient": {"wall": 3.0, "rss_mb": 31.6, "door": "sm2"},
        },
        "kdf": {"scrypt_n": 32768, "scrypt_r": 8, "scrypt_mib": 32.0, "floor_mb": 49.0},
    }  # fmt: skip
    (tmp_path / ".startup.json").write_text(json.dumps(startup))
    out = tmp_path / "RESULTS.md"
    argv = ["report.py", str(main), str(out), "--paths", str(manifest)]
    assert report.main([*argv, "--startup", str(tmp_path / ".startup.json")]) == 0
    text = out.read_text()
    assert "| `vaultkit encrypt-file - -` on a 512 MiB pipe, key ring by key file |" in text
    assert "(a passphrase door's floor) | | | 49.0 MB |" in text
    assert "without a passphrase (key file): yes (32.4 MB)" in text
    assert "32 MiB + 24 MB: no (57.0 MB = the KDF + 25.0 MB;" in text
