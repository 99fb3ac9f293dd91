"""The demo's stage: numbered and timed steps, the verified checks and lines they print, the
progress bar, the world the steps share, and the protected model a developer would declare."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

import click
import sqlalchemy as sa

from vaultkit.cli import _fakedata
from vaultkit.cli._common import console

if TYPE_CHECKING:
    from sqlalchemy.orm import DeclarativeBase, Mapped

    from vaultkit.ext.sqlalchemy import Protected
    from vaultkit.keys import KeyRing
    from vaultkit.vault import Vault

    class DemoCustomer(Protected, DeclarativeBase):
        """The model :func:`model` declares, as the type checker sees it."""

        id: Mapped[int]
        name: Mapped[str]
        id_no: Mapped[str]
        id_no_bidx: Mapped[bytes]
        card_no: Mapped[str]
        mobile: Mapped[str]
        balance: Mapped[Decimal]


__all__ = [
    "PASSPHRASE",
    "Person",
    "Steps",
    "World",
    "check",
    "model",
    "parts",
    "rate",
    "say",
    "tail",
    "with_progress",
]

T = TypeVar("T")

PASSPHRASE = "vaultkit demo passphrase (not a secret)"  # noqa: S105 - printed on purpose


class Steps:
    """Numbered, timed steps."""

    def __init__(self) -> None:
        self.n = 0
        self.timings: list[tuple[str, float]] = []

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.n += 1
        console.print()
        console.rule(f"[bold]{self.n}. {title}", align="left")
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.timings.append((f"{self.n}. {title}", elapsed))
        console.print(f"[dim]   ({elapsed * 1000:,.1f} ms)[/dim]")


def check(ok: bool, what: str) -> None:
    if not ok:
        raise click.ClickException(f"verification failed: {what}")
    console.print(f"   [green]✓[/green] {what}")


def say(text: str) -> None:
    console.print(f"   {text}")


def rate(n: int, seconds: float, unit: str) -> str:
    return f"{n / seconds:,.0f} {unit}/s" if seconds > 0 else "n/a"


def tail(value: object, n: int = 22) -> str:
    """The end of a stored value: where ciphertexts of the same key differ (their opening bytes
    are the header, the same for every value under one key version)."""
    text = value.hex() if isinstance(value, bytes | memoryview) else str(value)
    return text if len(text) <= n else "…" + text[-n:]


def parts(value: bytes) -> tuple[str, str, str, str]:
    """A binary field ciphertext cut along its format (docs/envelope.md): key id and version,
    salt (per writer process and key version), nonce (never repeats under a subkey), and the
    end of the GCM ciphertext with its tag."""
    from vaultkit import envelope
    from vaultkit.envelope._format import HEADER_LEN, NONCE_LEN

    header = envelope.inspect(value)
    return (
        f"{header.key_id} v{header.version}",
        header.salt[:4].hex() + "…",
        value[HEADER_LEN : HEADER_LEN + NONCE_LEN].hex(),
        "…" + value[-12:].hex(),
    )


def with_progress(
    description: str, total: int, fn: Callable[[Callable[[int], None] | None], T]
) -> T:
    """``fn(advance)`` under a transient progress bar on the demo's own console (so it never
    lands inside a table); no progress lines when the output is not a terminal (the step's
    summary line says what was done)."""
    if not console.is_terminal:
        return fn(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from vaultkit.cli._progress import RowCount

    count = RowCount(total)
    with Progress(
        TextColumn(f"   {description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int) -> None:
            count.done += n
            bar.update(task, completed=count.done, total=count.total)

        return fn(advance)


@dataclass
class World:
    """What the steps share."""

    where: Path
    people: list[_fakedata.FakeCustomer]
    # set by the steps, in order (_keyring: ring, vault; _insert: engine, model)
    ring: KeyRing = field(init=False)
    vault: Vault = field(init=False)
    engine: sa.Engine = field(init=False)
    model: type[DemoCustomer] = field(init=False)  # the protected Customer class


class Person(Protocol):
    @property
    def id_no(self) -> str: ...
    @property
    def card_no(self) -> str: ...


def model(bits: int) -> type[DemoCustomer]:
    """The application's protected model (what a developer declares)."""
    from sqlalchemy.orm import DeclarativeBase, mapped_column

    from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, Protected, Tokenized

    class Base(DeclarativeBase):
        pass

    class Customer(Protected, Base):
        __tablename__ = "customers"
        id = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
        name = mapped_column(Encrypted("customers.name", kind="name", level="C2"))
        id_no = mapped_column(Encrypted("customers.id_no", kind="cn_id", searchable=True))
        id_no_bidx = mapped_column(
            BlindIndex("customers.id_no.bidx", source="id_no", bits=bits), index=True
        )
        card_no = mapped_column(Tokenized("customers.card", format="card"))
        mobile = mapped_column(Encrypted("customers.mobile", kind="mobile", storage="text"))
        balance = mapped_column(Encrypted("customers.balance", python_type=Decimal))

    return cast("type[DemoCustomer]", Customer)
