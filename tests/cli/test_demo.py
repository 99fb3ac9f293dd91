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


def test_engines_the_cli_creates_hide_parameters() -> None:
    """Every engine the CLI creates itself hides bound values (plaintext) from SQLAlchemy's
    error messages and logs, like ``_common.make_engine``."""
    import ast
    from pathlib import Path

    import vaultkit.cli

    calls = []
    for path in Path(vaultkit.cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "create_engine":
                calls.append((path.name, node.lineno, {k.arg for k in node.keywords}))
    assert calls
    assert [c for c in calls if "hide_parameters" not in c[2]] == []
