"""Run the real console script (`python -m vaultkit`, what `.venv/bin/vaultkit` runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PASSPHRASE = "cli test passphrase (not a secret)"


def env_for(ring: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTKIT_")}
    return {**env, "VAULTKIT_PASSPHRASE": PASSPHRASE, "VAULTKIT_KEYRING": str(ring), **extra}


def vk(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vaultkit", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin if stdin is not None else "",
        timeout=120,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def fails(proc: subprocess.CompletedProcess[str], message: str, code: int = 2) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
