"""Start-up: ``vaultkit --help`` and ``import vaultkit.cli`` load neither SQLAlchemy, nor rich,
nor the demo, nor the key ring and native core (they were most of the CLI's start-up time and
memory: 0.45 s CPU and 52 MB before, see benchmarks/RESULTS.md). The check is on the modules
loaded (deterministic), not on a time."""

from __future__ import annotations

import re
import subprocess
import sys

import click

from vaultkit.cli import COMMANDS, main

HEAVY = (
    "sqlalchemy",
    "rich",  # rich.table, rich.progress, and even rich.console: click prints the help
    "vaultkit.cli._demo",
    "pkcs11",
    "vaultkit.vault",  # `import vaultkit` loads Vault on first use (PEP 562)
    "vaultkit.hazmat.bindings",  # the native core
    "cryptography",
)


def _loaded_by(code: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(proc.stdout.split())


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_import_of_the_cli_loads_nothing_heavy() -> None:
    loaded = _loaded_by("import sys, vaultkit.cli; print(*sys.modules)")
    assert "vaultkit.cli" in loaded  # the probe works
    assert _heavy(loaded) == set()


def test_help_loads_nothing_heavy() -> None:
    """``python -X importtime -m vaultkit --help`` lists every module the command imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vaultkit", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Commands:" in proc.stdout and "reencrypt" in proc.stdout
    loaded = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)", proc.stderr, re.M))
    assert "vaultkit.cli._common" in loaded  # the probe works
    assert _heavy(loaded) == set()


def test_a_command_loads_its_module_when_it_runs() -> None:
    loaded = _loaded_by(
        "import sys, click; from vaultkit.cli import main;"
        "main.get_command(click.Context(main), 'scan'); print(*sys.modules)"
    )
    assert "vaultkit.cli._scan" in loaded
    assert "vaultkit.cli._demo" not in loaded


def test_the_help_table_matches_each_command() -> None:
    """``COMMANDS`` carries each command's one-line help (so ``--help`` imports nothing); it must
    say what the command's own docstring says."""
    ctx = click.Context(main)
    for name, (_module, _attribute, text) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None
        assert command.get_short_help_str(limit=10_000) == text, name
