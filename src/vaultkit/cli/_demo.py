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


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s" if seconds > 0 else "n/a"


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _primitives(steps: _Steps, people: list[_fakedata.FakeCustomer]) -> None:
    """Encrypt with SM4-GCM and tokenize card numbers with FF1 directly (the hazmat layer)."""
    from vaultkit.hazmat.aead import SM4GCM
    from vaultkit.hazmat.ff1 import FF1

    n = len(people)
    key = os.urandom(16)
    aead = SM4GCM(key)
    ff1 = FF1(os.urandom(16), cipher="SM4", radix=10)
    ids = [p.id_no.encode() for p in people]
    nonces = [os.urandom(12) for _ in people]
    ad = b"customers.id_no"
    with steps.step(f"Encrypt {n:,} ID numbers with SM4-GCM (hazmat)"):
        t0 = time.perf_counter()
        sealed = aead.encrypt_many(nonces, ids, [ad] * n)
        t_enc = time.perf_counter() - t0
        console.print(f"   {_rate(n, t_enc)} fields")
    with steps.step(f"Tokenize {n:,} card numbers with FF1-SM4 (middle digits, hazmat)"):
        # Keep BIN (6) and last 4, encrypt the middle; the full token recipe (Luhn recomputed)
        # is vaultkit.tokens' card format.
        middles = [p.card_no[6:-4] for p in people]
        t0 = time.perf_counter()
        enc_mid = [ff1.encrypt(m, b"customers.card_no") for m in middles]
        t_tok = time.perf_counter() - t0
        tokens = [p.card_no[:6] + m + p.card_no[-4:] for p, m in zip(people, enc_mid, strict=True)]
        console.print(f"   {_rate(n, t_tok)} tokens")
    print_table(
        "A few rows: raw / tokenized / encrypted",
        ["name", "ID number", "card (raw)", "card (token)", "ID number (SM4-GCM, hex)"],
        [
            (p.name, p.id_no, p.card_no, tokens[i], sealed[i].hex()[:32] + "…")
            for i, p in enumerate(people[:5])
        ],
    )
    with steps.step("Decrypt and detokenize everything, verify"):
        opened = aead.decrypt_many(nonces, sealed, [ad] * n)
        back = [ff1.decrypt(m, b"customers.card_no") for m in enc_mid]
        _check(opened == ids, f"{n:,} ID numbers decrypt to the originals")
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
            ("vaultkit.hazmat.aead", lambda: _primitives(steps, people[:1000])),
        ]
        for module, stage in stages:
            if _has(module):
                stage()
            else:
                console.print(f"[yellow]   ({module} has not landed yet: step skipped)[/yellow]")
    console.rule("[bold]Summary", align="left")
    print_table(
        "Timings", ["step", "ms"], [(t, f"{s * 1000:,.1f}") for t, s in steps.timings]
    )


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
