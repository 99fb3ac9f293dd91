"""``vaultkit demo``: the whole story on the embedded default (local key ring + SQLite) in a temp
dir, each step timed and verified. A failed verification stops the demo with exit code 1.

One module on purpose (about 600 lines): it is one story told in step order, each step using
the world the previous ones built; split into files, the story would have to be read across
them. The synthetic people are :mod:`vaultkit.cli._fakedata`'s."""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

import click
import sqlalchemy as sa
from rich.markup import escape

from vaultkit.cli import _fakedata
from vaultkit.cli._common import console, print_table
from vaultkit.columns import parse_token

if TYPE_CHECKING:
    from sqlalchemy.orm import DeclarativeBase, Mapped

    from vaultkit.ext.sqlalchemy import Protected
    from vaultkit.keys import KeyRing
    from vaultkit.scan import ScanReport
    from vaultkit.vault import Vault

    class _Customer(Protected, DeclarativeBase):
        """The model :func:`_model` declares, as the type checker sees it."""

        id: Mapped[int]
        name: Mapped[str]
        id_no: Mapped[str]
        id_no_bidx: Mapped[bytes]
        card_no: Mapped[str]
        mobile: Mapped[str]
        balance: Mapped[Decimal]


__all__ = ["demo", "leaks", "run_demo"]

T = TypeVar("T")

PASSPHRASE = "vaultkit demo passphrase (not a secret)"  # noqa: S105 - printed on purpose


class _Steps:
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


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise click.ClickException(f"verification failed: {what}")
    console.print(f"   [green]✓[/green] {what}")


def _say(text: str) -> None:
    console.print(f"   {text}")


def _rate(n: int, seconds: float, unit: str) -> str:
    return f"{n / seconds:,.0f} {unit}/s" if seconds > 0 else "n/a"


def _tail(value: object, n: int = 22) -> str:
    """The end of a stored value: where ciphertexts of the same key differ (their opening bytes
    are the header, the same for every value under one key version)."""
    text = value.hex() if isinstance(value, bytes | memoryview) else str(value)
    return text if len(text) <= n else "…" + text[-n:]


def _parts(value: bytes) -> tuple[str, str, str, str]:
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


def _with_progress(
    description: str, total: int, fn: Callable[[Callable[[int], None] | None], T]
) -> T:
    """``fn(advance)`` under a transient progress bar on the demo's own console (so it never
    lands inside a table); no progress lines when the output is not a terminal (the step's
    summary line says what was done)."""
    if not console.is_terminal:
        return fn(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from vaultkit.cli._reencrypt import RowCount

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
class _World:
    """What the steps share."""

    where: Path
    people: list[_fakedata.FakeCustomer]
    # set by the steps, in order (_keyring: ring, vault; _insert: engine, model)
    ring: KeyRing = field(init=False)
    vault: Vault = field(init=False)
    engine: sa.Engine = field(init=False)
    model: type[_Customer] = field(init=False)  # the protected Customer class


class _Person(Protocol):
    @property
    def id_no(self) -> str: ...
    @property
    def card_no(self) -> str: ...


def _model(bits: int) -> type[_Customer]:
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

    return cast("type[_Customer]", Customer)


def _keyring(w: _World, steps: _Steps) -> None:
    from vaultkit import Vault
    from vaultkit.keys import KeyRing, LocalKMS

    with steps.step("Create a key ring (local passphrase KMS) and data keys"):
        w.ring = KeyRing.create(w.where / "demo.vkr", LocalKMS(passphrase=PASSPHRASE))
        for name, alg in [
            ("customers.name", "SM4-GCM"),
            ("customers.id_no", "SM4-GCM"),
            ("customers.id_no.bidx", "HMAC-SM3"),
            ("customers.card", "FF1-SM4"),
            ("customers.mobile", "SM4-GCM"),
            ("customers.balance", "AES-256-GCM"),
        ]:
            w.ring.create_key(name, algorithm=alg)
        w.vault = Vault(w.ring)
        print_table(
            f"Key ring {w.ring.path.name} (passphrase from VAULTKIT_PASSPHRASE in real use)",
            ["key", "id", "algorithm", "versions"],
            [
                (
                    k.name,
                    k.key_id,
                    k.algorithm,
                    ", ".join(f"v{v.version} {v.state.value}" for v in k.versions),
                )
                for k in w.ring.keys()
            ],
        )


def _insert(w: _World, steps: _Steps) -> None:
    from sqlalchemy.orm import Session

    from vaultkit.blindindex import plan
    from vaultkit.ext.sqlalchemy import configure

    n = len(w.people)
    bits = plan(rows=n).bits
    w.model = _model(bits)
    w.engine = sa.create_engine(f"sqlite:///{w.where / 'bank.db'}", hide_parameters=True)
    configure(w.vault, w.model, engine=w.engine)
    w.model.metadata.create_all(w.engine)
    with steps.step(f"Insert {n:,} customers through the protected SQLAlchemy model"):
        _say(
            f"C2 columns encrypted (SM4-GCM, AES-256-GCM), card numbers tokenized (FF1-SM4), "
            f"ID numbers searchable through a {bits}-bit blind index (HMAC-SM3; planner for "
            f"{n:,} rows)"
        )
        rows = [
            {
                "id": i + 1,
                "name": p.name,
                "id_no": p.id_no,
                "card_no": p.card_no,
                "mobile": p.mobile,
                "balance": p.balance,
            }
            for i, p in enumerate(w.people)
        ]
        t0 = time.perf_counter()
        with Session(w.engine) as session, session.begin():
            session.execute(sa.insert(w.model), rows)
        _say(_rate(n, time.perf_counter() - t0, "customers"))


def _display(w: _World, steps: _Steps) -> None:
    from sqlalchemy.orm import Session

    with steps.step("Raw database rows vs. what the application sees (decrypted, masked)"):
        with w.engine.connect() as conn:
            raw = conn.exec_driver_sql(
                "SELECT id, name, id_no, card_no, mobile FROM customers ORDER BY id LIMIT 4"
            ).all()
        print_table(
            "In the SQLite file: id_no ciphertexts part by part (same key and salt, a fresh "
            "nonce each, so equal plaintexts never look equal)",
            ["id", "key id, version", "salt (per writer)", "nonce (unique)", "ciphertext…tag"],
            [(r[0], *_parts(r[2])) for r in raw],
        )
        print_table(
            "In the SQLite file: the other columns (ends of the values)",
            ["id", "name (binary)", "card_no (version:token)", "mobile (text form)"],
            [(r[0], _tail(r[1]), r[3], _tail(r[4])) for r in raw],
        )
        t0 = time.perf_counter()
        with Session(w.engine) as session:
            everyone = session.scalars(sa.select(w.model).order_by(w.model.id)).all()
            elapsed = time.perf_counter() - t0
            print_table(
                "Masked display (customer.masked(...))",
                ["id", "name", "ID number", "card number", "mobile", "balance"],
                [
                    (
                        c.id,
                        c.masked("name"),
                        c.masked("id_no"),
                        c.masked("card_no"),
                        c.masked("mobile"),
                        c.balance,
                    )
                    for c in everyone[:4]
                ],
            )
            ok = all(
                (c.name, c.id_no, c.card_no, c.mobile, c.balance)
                == (p.name, p.id_no, p.card_no, p.mobile, p.balance)
                for c, p in zip(everyone, w.people, strict=True)
            )
        _say(
            f"loaded and decrypted {len(everyone):,} customers: "
            f"{_rate(len(everyone), elapsed, 'rows')}"
        )
        _check(ok, f"all {len(w.people):,} customers decrypt and detokenize to the originals")
        with w.engine.connect() as conn:
            stored = [
                r[0] for r in conn.exec_driver_sql("SELECT card_no FROM customers ORDER BY id")
            ]
        data = (w.where / "bank.db").read_bytes()
        _check(
            leaks(data, w.people[:500], stored[:500]) == 0,
            "no ID or card number appears in the database file",
        )


def leaks(data: bytes, people: Sequence[_Person], stored_tokens: list[str]) -> int:
    """How many of ``people`` have their ID or card number in ``data`` (the database file).

    FF1 is a permutation of the card numbers that keep BIN and last 4: about one card in 1e5
    is its own token (a fixed point), and its stored form ``"<version>:<token>"`` then holds
    the card number itself. That is the token, not a leak: the stored forms of fixed points
    (``stored_tokens[i]``, the row of ``people[i]``, whose token is its card number) are cut
    out of ``data`` before searching, so the same number anywhere else is still found.
    """
    for person, stored in zip(people, stored_tokens, strict=True):
        if parse_token(stored)[1] == person.card_no:
            data = data.replace(stored.encode(), b"")
    return sum(p.id_no.encode() in data or p.card_no.encode() in data for p in people)


def _search(w: _World, steps: _Steps) -> None:
    from sqlalchemy.orm import Session

    from vaultkit.identifiers import luhn_valid

    target = w.people[len(w.people) // 2]
    with steps.step("Search by ID number (blind index) and by card number (token)"):
        query = sa.select(w.model).where(w.model.id_no == target.id_no)
        compiled = query.compile(w.engine, compile_kwargs={"render_postcompile": True})
        sql = str(compiled).splitlines()[-1].strip()
        _say(f"SQL: {sql}")
        with Session(w.engine) as session:
            # A short index matches a few other rows too (that is what hides the value);
            # vaultkit filters them out after decrypting only those rows.
            opt_in = query.execution_options(vaultkit_candidates=True)
            candidates = session.scalars(opt_in).all()
            t0 = time.perf_counter()
            found = session.scalars(query).all()
            _say(
                f"{len(candidates)} candidate row(s) share the index value; the query returns "
                f"{len(found)} exact match in {(time.perf_counter() - t0) * 1000:.2f} ms "
                f"without decrypting the table: {found[0].masked('name')} "
                f"{found[0].masked('id_no')}"
            )
            _check([c.id_no for c in found] == [target.id_no], "the blind index finds the customer")
            by_card = session.scalars(sa.select(w.model).where(w.model.card_no == target.card_no))
            _check([c.id_no for c in by_card] == [target.id_no], "the token finds the customer")
        with w.engine.connect() as conn:
            tokens = [
                parse_token(r[0])[1]
                for r in conn.exec_driver_sql("SELECT card_no FROM customers").all()
            ]
        kept = all(
            t[:6] == p.card_no[:6] and t[-4:] == p.card_no[-4:] and luhn_valid(t)
            for t, p in zip(tokens, w.people, strict=True)
        )
        _check(kept, "every card token keeps BIN and last 4 digits and passes Luhn")


def _kek(w: _World, steps: _Steps) -> None:
    with steps.step("Rotate the KEK (rewraps every data key, never touches data)"):
        t0 = time.perf_counter()
        version = w.ring.rotate_kek()
        elapsed = time.perf_counter() - t0
        keys = w.ring.keys()
        _say(f"KEK version {version}: {len(keys)} keys rewrapped in {elapsed * 1000:.1f} ms")
        _check(
            all(
                v.kek_version == version
                for k in keys
                for v in k.versions
                if v.state.value != "destroyed"
            ),
            "every data key is wrapped by the new KEK",
        )


def _dek(w: _World, steps: _Steps) -> None:
    from sqlalchemy.orm import Session

    from vaultkit import envelope
    from vaultkit.cli._reencrypt import count_under_version
    from vaultkit.reencrypt import Reencryptor

    newcomer = _fakedata.customers(1, seed=4242)[0]
    new_id = len(w.people) + 1
    with steps.step("Rotate the ID-number key: old and new ciphertexts both decrypt"):
        version = w.ring.rotate_key("customers.id_no")
        with Session(w.engine) as session, session.begin():
            session.add(
                w.model(
                    id=new_id,
                    name=newcomer.name,
                    id_no=newcomer.id_no,
                    card_no=newcomer.card_no,
                    mobile=newcomer.mobile,
                    balance=newcomer.balance,
                )
            )
        with w.engine.connect() as conn:
            raw: dict[int, bytes | str] = dict(
                conn.exec_driver_sql(
                    f"SELECT id, id_no FROM customers WHERE id IN (1, {new_id})"  # noqa: S608
                ).all()
            )
        with Session(w.engine) as session:
            old = cast("_Customer", session.get(w.model, 1))
            new = cast("_Customer", session.get(w.model, new_id))
            _say(
                f"customer 1 (v{envelope.inspect(raw[1]).version}): {old.masked('id_no')}; "
                f"customer {new_id} (v{envelope.inspect(raw[new_id]).version}): "
                f"{new.masked('id_no')}"
            )
            _check(
                old.id_no == w.people[0].id_no and new.id_no == newcomer.id_no,
                f"version 1 and version {version} ciphertexts both decrypt",
            )
    with steps.step("vaultkit reencrypt: move every ID number to the new version, online"):
        job = Reencryptor(
            w.engine,
            w.vault,
            table="customers",
            columns=["id_no"],
            batch_size=1000,
            bind_row=True,  # the model's bind_row="auto" on a client-assigned key
        )
        summary = _with_progress("reencrypt", job.count_rows(), job.run)
        _say(
            f"{summary.rewritten:,} values rewritten in {summary.seconds:.2f} s "
            f"({_rate(summary.rows, summary.seconds, 'rows')}), compare-and-set per row, "
            "one transaction per batch"
        )
        _check(summary.complete, f"verification pass: every ID number is under v{version}")
        with Session(w.engine) as session:
            target = w.people[7]
            found = session.scalars(sa.select(w.model).where(w.model.id_no == target.id_no))
            _check(
                [c.id for c in found] == [8],
                "the blind index still finds customers",
            )
        left = count_under_version(str(w.engine.url), w.ring, "customers.id_no", 1)
        _check(left == [], "no value is left under version 1: it can be retired")
        w.ring.retire_version("customers.id_no", 1)
        _say("customers.id_no v1 retired (vaultkit key retire refuses while values remain)")


def _legacy(w: _World, steps: _Steps) -> None:
    from vaultkit.blindindex import plan
    from vaultkit.reencrypt import BlindIndexTarget, Reencryptor
    from vaultkit.scan import scan_database

    bits = plan(rows=len(w.people)).bits  # the planner's safe length for this many rows

    md = sa.MetaData()
    legacy = sa.Table(
        "legacy_accounts",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("holder", sa.String(40)),
        sa.Column("id_no", sa.String(200)),
        sa.Column("id_no_bidx", sa.LargeBinary(4)),  # added by the migration (Alembic)
        sa.Column("card_no", sa.String(80)),
        sa.Column("mobile", sa.String(200)),
        sa.Column("email", sa.String(200)),
        sa.Column("remark", sa.Text),
    )
    md.create_all(w.engine)
    with w.engine.begin() as conn:
        conn.execute(
            legacy.insert(),
            [
                {
                    "holder": p.name,
                    "id_no": p.id_no,
                    "card_no": p.card_no,
                    "mobile": p.mobile,
                    "email": p.email,
                    "remark": f"客户来电 {p.mobile}" if i % 10 == 0 else "开户",
                }
                for i, p in enumerate(w.people)
            ],
        )

    def show(title: str) -> ScanReport:
        report = scan_database(
            w.engine,
            sample=1000,
            tables=["legacy_accounts", "customers"],
            key_namer=lambda key_id, _v: names.get(key_id, f"key#{key_id}"),
        )
        s = report.summary()
        rows = [
            (
                f"{c.table}.{c.column}",
                c.level or ("protected" if c.protected else "-"),
                "; ".join(
                    f"{f.kind} x{f.count} ({', '.join(f.examples[:2])})"
                    for f in c.findings.values()
                )
                or "-",
            )
            for c in report.columns
            if c.findings or c.ciphertexts or c.tokens
        ]
        print_table(
            f"{title}: {s['result']} (C3 {s['unprotected_columns_by_level']['C3']}, "
            f"C2 {s['unprotected_columns_by_level']['C2']} unprotected columns)",
            ["column", "status", "plaintext found (masked)"],
            rows,
        )
        return report

    names = {k.key_id: k.name for k in w.ring.keys()}
    with steps.step("vaultkit scan: self-inspection of a legacy plaintext table"):
        before = show("Before")
        _check(before.failed, "the scan flags the unprotected C2 data (exit code 1)")
    with steps.step("vaultkit reencrypt --from-plaintext: protect the legacy table in place"):
        n = len(w.people)
        jobs = [
            Reencryptor(
                w.engine,
                w.vault,
                table="legacy_accounts",
                columns=["id_no"],
                from_plaintext=True,
                key_name="customers.id_no",
                blind_index={"id_no": BlindIndexTarget("id_no_bidx", "customers.id_no.bidx", bits)},
            ),
            Reencryptor(
                w.engine,
                w.vault,
                table="legacy_accounts",
                columns=["mobile", "email", "remark"],
                from_plaintext=True,
                key_name="customers.mobile",
            ),
            Reencryptor(
                w.engine,
                w.vault,
                table="legacy_accounts",
                columns=["card_no"],
                from_plaintext=True,
                key_name="customers.card",
                token_format="card",  # noqa: S106 - a token format, not a password
            ),
        ]
        t0 = time.perf_counter()
        done = [job.run() for job in jobs]
        _say(
            f"{sum(d.rewritten for d in done):,} values protected over {n:,} rows: "
            f"{_rate(n, time.perf_counter() - t0, 'rows')}"
        )
        _check(all(d.complete for d in done), "verification pass: no plaintext left")
    with steps.step("vaultkit scan again"):
        after = show("After")
        _check(not after.failed, "no unprotected C2/C3 data remains (exit code 0)")


def _backup(w: _World, steps: _Steps) -> None:
    from vaultkit import stream
    from vaultkit.errors import DecryptionError

    db = w.where / "bank.db"
    backup = w.where / "bank.db.vkb"
    restored = w.where / "restored.db"
    w.engine.dispose()
    with steps.step("Back up the database through vaultkit.stream, restore and verify"):
        size = db.stat().st_size
        t0 = time.perf_counter()
        with db.open("rb") as src, backup.open("wb") as dst:
            stream.encrypt(src, dst, vault=w.vault)
        t_enc = time.perf_counter() - t0
        t0 = time.perf_counter()
        with backup.open("rb") as src, restored.open("wb") as dst:
            stream.decrypt(src, dst, vault=w.vault)
        t_dec = time.perf_counter() - t0
        _say(
            f"{size / 2**20:.1f} MiB: encrypted at {size / 2**20 / t_enc:,.0f} MiB/s, "
            f"restored at {size / 2**20 / t_dec:,.0f} MiB/s (SM4-GCM chunks, header wrapped "
            "by the KEK)"
        )
        same = (
            hashlib.sha256(db.read_bytes()).digest()
            == hashlib.sha256(restored.read_bytes()).digest()
        )
        _check(same, "the restored database is byte-for-byte the original")
        engine = sa.create_engine(f"sqlite:///{restored}", hide_parameters=True)
        with engine.connect() as conn:
            count = conn.exec_driver_sql("SELECT count(*) FROM customers").scalar_one()
        engine.dispose()
        _check(count == len(w.people) + 1, f"the restored database holds {count:,} customers")
        tampered = bytearray(backup.read_bytes())
        tampered[len(tampered) // 2] ^= 1
        try:
            import io

            stream.decrypt(io.BytesIO(bytes(tampered)), io.BytesIO(), vault=w.vault)
            detected = False
        except DecryptionError:
            detected = True
        _check(detected, "a backup with one flipped bit is refused")


def _access(w: _World, steps: _Steps) -> None:
    """Last: once the ring has grants, every Vault over it needs a principal."""
    from vaultkit import Vault
    from vaultkit.audit import Trail, verify
    from vaultkit.columns import column_context, row_key
    from vaultkit.errors import AccessDeniedError
    from vaultkit.masking import mask

    trail_path = w.where / "audit.jsonl"
    with steps.step("Access grants: a teller sees only masked values, every access is audited"):
        w.ring.grant("teller-app", keys="customers.*", operations={"reveal_masked"})
        _say(
            "grant teller-app reveal_masked on customers.* (in the key ring, under its MAC); "
            "audit trail: hash-chained records sealed with HMAC-SM3"
        )
        engine = sa.create_engine(f"sqlite:///{w.where / 'bank.db'}", hide_parameters=True)
        try:
            with engine.connect() as conn:
                raw = conn.exec_driver_sql(
                    "SELECT id, id_no, card_no FROM customers ORDER BY id LIMIT 4"
                ).all()
        finally:
            engine.dispose()
        card_ctx = column_context("customers", "card_no")
        trail = Trail.open(trail_path, w.ring)
        try:
            with Vault(w.ring, principal="teller-app", audit=trail) as teller:
                shown = []
                for row_id, id_no, card in raw:
                    version, token = parse_token(card)
                    shown.append(
                        (
                            row_id,
                            teller.decrypt_masked(
                                bytes(id_no),
                                # the model binds id_no to its row (docs/sqlalchemy.md)
                                context=column_context("customers", "id_no", row_key([row_id])),
                                kind="cn_id",
                            ),
                            teller.detokenize_masked(
                                "customers.card",
                                token,
                                format="card",
                                context=card_ctx,
                                version=version,
                            ),
                        )
                    )
                print_table(
                    "What teller-app gets (decrypted and masked inside vaultkit)",
                    ["id", "ID number", "card number"],
                    shown,
                )
                people = {i + 1: p for i, p in enumerate(w.people)}
                _check(
                    all(
                        i == mask("cn_id", people[r].id_no) != people[r].id_no
                        and c == mask("card_no", people[r].card_no) != people[r].card_no
                        for r, i, c in shown
                    ),
                    "teller-app never receives a plaintext ID or card number",
                )
                version, token = parse_token(raw[0][2])
                try:
                    teller.detokenize(
                        "customers.card", token, format="card", context=card_ctx, version=version
                    )
                    denied = None
                except AccessDeniedError as exc:
                    denied = exc
                if denied is not None:
                    _say(f"teller-app detokenize: [red]{escape(str(denied))}[/red]")
                _check(denied is not None, "a plain detokenize by teller-app is denied")
        finally:
            trail.close()
        result = verify(trail_path, w.ring)
        _say(f"vaultkit audit verify {trail_path.name}: intact, {result.count} records")
        _check(result.ok, "the audit trail verifies (seals, chain and head)")
        lines = trail_path.read_text(encoding="utf-8").splitlines()
        denied_at = next(i for i, line in enumerate(lines) if '"outcome":"denied"' in line)
        lines[denied_at] = lines[denied_at].replace('"outcome":"denied"', '"outcome":"ok"')
        trail_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _say(f"an insider edits record {denied_at + 1}: outcome denied -> ok")
        edited = verify(trail_path, w.ring)
        _say(f"vaultkit audit verify: TAMPERED at sequence number {edited.first_bad}")
        _check(
            not edited.ok and edited.first_bad == denied_at + 1,
            "audit verify names the edited record",
        )


def run_demo(*, rows: int, seed: int, workdir: Path | None) -> list[tuple[str, float]]:
    steps = _Steps()
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
        w = _World(where, people)
        try:
            _keyring(w, steps)
            _insert(w, steps)
            _display(w, steps)
            _search(w, steps)
            _kek(w, steps)
            _dek(w, steps)
            _legacy(w, steps)
            _backup(w, steps)
            _access(w, steps)
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
