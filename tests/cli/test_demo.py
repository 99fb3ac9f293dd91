"""`vaultkit demo` through the real console script (what `make demo` runs)."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_to_completion() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vaultkit", "demo", "--rows", "1000"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Summary: every step timed" in proc.stdout
    assert proc.stdout.count("✓") >= 16
    for step in (
        "Insert 1,000 customers",
        "Rotate the KEK",
        "vaultkit reencrypt",
        "vaultkit scan again",
        "Back up the database",
    ):
        assert step in proc.stdout
    assert "verification failed" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
