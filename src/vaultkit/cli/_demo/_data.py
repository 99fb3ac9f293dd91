"""The demo's first chapters: the key ring and its data keys, rows inserted through the protected
model, what the database and a reader see (and that no plaintext leaks into the file), and
searches by blind index and by token."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa

from vaultkit.cli._common import print_table
from vaultkit.cli._demo._stage import (
    PASSPHRASE,
    Person,
    Steps,
    World,
    check,
    model,
    parts,
    rate,
    say,
    tail,
)
from vaultkit.columns import parse_token

if TYPE_CHECKING:
    pass

__all__ = ["display", "insert", "keyring", "leaks", "search"]


def keyring(w: World, steps: Steps) -> None:
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


def insert(w: World, steps: Steps) -> None:
    from sqlalchemy.orm import Session

    from vaultkit.blindindex import plan
    from vaultkit.ext.sqlalchemy import configure

    n = len(w.people)
    bits = plan(rows=n).bits
    w.model = model(bits)
    w.engine = sa.create_engine(f"sqlite:///{w.where / 'bank.db'}", hide_parameters=True)
    configure(w.vault, w.model, engine=w.engine)
    w.model.metadata.create_all(w.engine)
    with steps.step(f"Insert {n:,} customers through the protected SQLAlchemy model"):
        say(
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
        say(rate(n, time.perf_counter() - t0, "customers"))


def display(w: World, steps: Steps) -> None:
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
            [(r[0], *parts(r[2])) for r in raw],
        )
        print_table(
            "In the SQLite file: the other columns (ends of the values)",
            ["id", "name (binary)", "card_no (version:token)", "mobile (text form)"],
            [(r[0], tail(r[1]), r[3], tail(r[4])) for r in raw],
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
        say(
            f"loaded and decrypted {len(everyone):,} customers: "
            f"{rate(len(everyone), elapsed, 'rows')}"
        )
        check(ok, f"all {len(w.people):,} customers decrypt and detokenize to the originals")
        with w.engine.connect() as conn:
            stored = [
                r[0] for r in conn.exec_driver_sql("SELECT card_no FROM customers ORDER BY id")
            ]
        data = (w.where / "bank.db").read_bytes()
        check(
            leaks(data, w.people[:500], stored[:500]) == 0,
            "no ID or card number appears in the database file",
        )


def leaks(data: bytes, people: Sequence[Person], stored_tokens: list[str]) -> int:
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


def search(w: World, steps: Steps) -> None:
    from sqlalchemy.orm import Session

    from vaultkit.identifiers import luhn_valid

    target = w.people[len(w.people) // 2]
    with steps.step("Search by ID number (blind index) and by card number (token)"):
        query = sa.select(w.model).where(w.model.id_no == target.id_no)
        compiled = query.compile(w.engine, compile_kwargs={"render_postcompile": True})
        sql = str(compiled).splitlines()[-1].strip()
        say(f"SQL: {sql}")
        with Session(w.engine) as session:
            # A short index matches a few other rows too (that is what hides the value);
            # vaultkit filters them out after decrypting only those rows.
            opt_in = query.execution_options(vaultkit_candidates=True)
            candidates = session.scalars(opt_in).all()
            t0 = time.perf_counter()
            found = session.scalars(query).all()
            say(
                f"{len(candidates)} candidate row(s) share the index value; the query returns "
                f"{len(found)} exact match in {(time.perf_counter() - t0) * 1000:.2f} ms "
                f"without decrypting the table: {found[0].masked('name')} "
                f"{found[0].masked('id_no')}"
            )
            check([c.id_no for c in found] == [target.id_no], "the blind index finds the customer")
            by_card = session.scalars(sa.select(w.model).where(w.model.card_no == target.card_no))
            check([c.id_no for c in by_card] == [target.id_no], "the token finds the customer")
        with w.engine.connect() as conn:
            tokens = [
                parse_token(r[0])[1]
                for r in conn.exec_driver_sql("SELECT card_no FROM customers").all()
            ]
        kept = all(
            t[:6] == p.card_no[:6] and t[-4:] == p.card_no[-4:] and luhn_valid(t)
            for t, p in zip(tokens, w.people, strict=True)
        )
        check(kept, "every card token keeps BIN and last 4 digits and passes Luhn")
