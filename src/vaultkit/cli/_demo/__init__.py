"""``vaultkit demo``: the whole story on the embedded default (local key ring + SQLite) in a temp
dir, each step timed and verified. A failed verification stops the demo with exit code 1.

The story is told in step order by :func:`run_demo`, each step using the world the previous
ones built; the chapters are :mod:`._data` (key ring, insert, display, search), :mod:`._keys`
(KEK and DEK rotation, re-encryption, the legacy table) and :mod:`._ops` (backup, access and
audit), on the stage of :mod:`._stage` (steps, checks, the shared world, the model). The
synthetic people are :mod:`vaultkit.cli._fakedata`'s."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from rich.markup import escape

from vaultkit.cli import _fakedata
from vaultkit.cli._common import console, print_table
from vaultkit.cli._demo._data import display, insert, keyring, leaks, search
from vaultkit.cli._demo._keys import dek, kek, legacy
from vaultkit.cli._demo._ops import access, backup
from vaultkit.cli._demo._stage import Steps, World

__all__ = ["demo", "leaks", "run_demo"]


def run_demo(*, rows: int, seed: int, workdir: Path | None) -> list[tuple[str, float]]:
    steps = Steps()
    with tempfile.TemporaryDirectory(prefix="vaultkit-demo-") as tmp:
        where = workdir or Path(tmp)
        console.print(
            f"[bold]vaultkit demo[/bold]: {rows:,} synthetic customers in {escape(str(where))}"
        )
        with steps.step(f"Generate {rows:,} synthetic customers (seed {seed})"):
            people = _fakedata.customers(rows, seed=seed)
            print_table(
                "Synthetic customers (fake people, valid-format identifiers)",
                ["name", "ID number", "card number", "mobile", "balance"],
                [(p.name, p.id_no, p.card_no, p.mobile, p.balance) for p in people[:4]],
            )
        w = World(where, people)
        try:
            keyring(w, steps)
            insert(w, steps)
            display(w, steps)
            search(w, steps)
            kek(w, steps)
            dek(w, steps)
            legacy(w, steps)
            backup(w, steps)
            access(w, steps)
        finally:
            if w.engine is not None:
                w.engine.dispose()
            if w.vault is not None:
                w.vault.close()
            if w.ring is not None:
                w.ring.close()
    console.print()
    print_table(
        "Summary: every step timed",
        ["step", "ms"],
        [(t, f"{s * 1000:,.1f}") for t, s in steps.timings],
    )
    return steps.timings


@click.command()
@click.option(
    "--rows",
    default=10_000,
    show_default=True,
    type=click.IntRange(100),
    help="Synthetic customers.",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic data.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the files here instead of a temp dir.",
)
def demo(rows: int, seed: int, workdir: Path | None) -> None:
    """Run the end-to-end demonstration on the embedded default (local key ring + SQLite)."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        if any(workdir.iterdir()):
            raise click.UsageError(f"{workdir} is not empty")
    run_demo(rows=rows, seed=seed, workdir=workdir)
