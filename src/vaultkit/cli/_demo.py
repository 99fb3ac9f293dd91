"""``vaultkit demo``: the whole story on the embedded default, in a temp dir, each step timed."""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from vaultkit.cli import _fakedata
from vaultkit.cli._common import console, print_table

__all__ = ["demo"]


class _Steps:
    """Numbered, timed steps; a failed verification stops the demo with a non-zero exit."""

    def __init__(self) -> None:
        self.n = 0
        self.timings: list[tuple[str, float]] = []

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.n += 1
        console.rule(f"[bold]{self.n}. {title}", align="left")
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.timings.append((title, elapsed))
        console.print(f"[dim]   {title}: {elapsed * 1000:.1f} ms[/dim]")


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise click.ClickException(f"verification failed: {what}")
    console.print(f"   [green]✓[/green] {what}")


def _rate(n: int, seconds: float, unit: str) -> str:
    return f"{n / seconds:,.0f} {unit}/s" if seconds > 0 else "n/a"


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _hazmat_encrypt(steps: _Steps, people: list[_fakedata.FakeCustomer]) -> None:
    """Encrypt ID numbers with SM4-GCM directly (the hazmat layer: explicit keys and nonces)."""
    from vaultkit.hazmat.aead import SM4GCM

    n = len(people)
    aead = SM4GCM(os.urandom(16))
    ids = [p.id_no.encode() for p in people]
    nonces = [os.urandom(12) for _ in people]
    ads = [b"customers.id_no"] * n
    with steps.step(f"Encrypt {n:,} ID numbers with SM4-GCM (hazmat)"):
        t0 = time.perf_counter()
        sealed = aead.encrypt_many(nonces, ids, ads)
        console.print(f"   {_rate(n, time.perf_counter() - t0, 'fields')}")
    print_table(
        "A few rows: raw / encrypted",
        ["name", "ID number", "ID number (SM4-GCM ciphertext || tag, hex)"],
        [(p.name, p.id_no, sealed[i].hex()[:40] + "…") for i, p in enumerate(people[:5])],
    )
    with steps.step("Decrypt everything back and verify"):
        t0 = time.perf_counter()
        opened = aead.decrypt_many(nonces, sealed, ads)
        console.print(f"   {_rate(n, time.perf_counter() - t0, 'fields')}")
        _check(opened == ids, f"{n:,} ID numbers decrypt to the originals")


def _hazmat_tokenize(steps: _Steps, people: list[_fakedata.FakeCustomer]) -> None:
    """Tokenize the middle digits of card numbers with FF1-SM4 directly (the hazmat layer)."""
    from vaultkit.hazmat.ff1 import FF1

    n = len(people)
    ff1 = FF1(os.urandom(16), cipher="SM4", radix=10)
    tweak = b"customers.card_no"
    # Keep the BIN (6) and last 4 digits; the full recipe (Luhn digit recomputed) is
    # vaultkit.tokens' card format.
    middles = [p.card_no[6:-4] for p in people]
    with steps.step(f"Tokenize {n:,} card numbers with FF1-SM4 (hazmat)"):
        t0 = time.perf_counter()
        enc = ff1.encrypt_many(middles, tweak)
        console.print(f"   {_rate(n, time.perf_counter() - t0, 'tokens')}")
    tokens = [p.card_no[:6] + m + p.card_no[-4:] for p, m in zip(people, enc, strict=True)]
    print_table(
        "A few rows: raw / tokenized",
        ["name", "card number", "token (BIN and last 4 kept)"],
        [(p.name, p.card_no, tokens[i]) for i, p in enumerate(people[:5])],
    )
    with steps.step("Detokenize everything back and verify"):
        back = ff1.decrypt_many(enc, tweak)
        _check(back == middles, f"{n:,} card tokens detokenize to the originals")


def run_demo(*, rows: int, seed: int, workdir: Path | None) -> None:
    steps = _Steps()
    with tempfile.TemporaryDirectory(prefix="vaultkit-demo-") as tmp:
        where = workdir or Path(tmp)
        console.print(f"[bold]vaultkit demo[/bold] in {where}")
        with steps.step(f"Generate {rows:,} synthetic customers (seed {seed})"):
            people = _fakedata.customers(rows, seed=seed)
        print_table(
            "Synthetic customers (fake, valid-format identifiers)",
            ["name", "ID number", "card number", "mobile", "balance"],
            [(p.name, p.id_no, p.card_no, p.mobile, p.balance) for p in people[:5]],
        )
        stages: list[tuple[str, Callable[[], None]]] = [
            ("vaultkit.hazmat.aead", lambda: _hazmat_encrypt(steps, people[:1000])),
            ("vaultkit.hazmat.ff1", lambda: _hazmat_tokenize(steps, people[:1000])),
        ]
        for module, stage in stages:
            if _has(module):
                stage()
            else:
                console.print(f"[yellow]   ({module} has not landed yet: step skipped)[/yellow]")
    console.rule("[bold]Summary", align="left")
    print_table("Timings", ["step", "ms"], [(t, f"{s * 1000:,.1f}") for t, s in steps.timings])


@click.command()
@click.option("--rows", default=10_000, show_default=True, help="Synthetic customers.")
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
    run_demo(rows=rows, seed=seed, workdir=workdir)
