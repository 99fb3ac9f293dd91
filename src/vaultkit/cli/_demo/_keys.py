"""The demo's key chapters: KEK rotation (rewraps, never touches data), DEK rotation with the
online re-encryption that moves every value to the new version, and a legacy table found by the
scan and protected in place."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

import sqlalchemy as sa

from vaultkit.cli import _fakedata
from vaultkit.cli._common import print_table
from vaultkit.cli._demo._stage import (
    Steps,
    World,
    check,
    rate,
    say,
    with_progress,
)

if TYPE_CHECKING:
    from vaultkit.cli._demo._stage import DemoCustomer
    from vaultkit.scan import ScanReport

__all__ = ["dek", "kek", "legacy"]


def kek(w: World, steps: Steps) -> None:
    with steps.step("Rotate the KEK (rewraps every data key, never touches data)"):
        t0 = time.perf_counter()
        version = w.ring.rotate_kek()
        elapsed = time.perf_counter() - t0
        keys = w.ring.keys()
        say(f"KEK version {version}: {len(keys)} keys rewrapped in {elapsed * 1000:.1f} ms")
        check(
            all(
                v.kek_version == version
                for k in keys
                for v in k.versions
                if v.state.value != "destroyed"
            ),
            "every data key is wrapped by the new KEK",
        )


def dek(w: World, steps: Steps) -> None:
    from sqlalchemy.orm import Session

    from vaultkit import envelope
    from vaultkit.cli._inuse import count_under_version
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
            old = cast("DemoCustomer", session.get(w.model, 1))
            new = cast("DemoCustomer", session.get(w.model, new_id))
            say(
                f"customer 1 (v{envelope.inspect(raw[1]).version}): {old.masked('id_no')}; "
                f"customer {new_id} (v{envelope.inspect(raw[new_id]).version}): "
                f"{new.masked('id_no')}"
            )
            check(
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
        summary = with_progress("reencrypt", job.count_rows(), job.run)
        say(
            f"{summary.rewritten:,} values rewritten in {summary.seconds:.2f} s "
            f"({rate(summary.rows, summary.seconds, 'rows')}), compare-and-set per row, "
            "one transaction per batch"
        )
        check(summary.complete, f"verification pass: every ID number is under v{version}")
        with Session(w.engine) as session:
            target = w.people[7]
            found = session.scalars(sa.select(w.model).where(w.model.id_no == target.id_no))
            check(
                [c.id for c in found] == [8],
                "the blind index still finds customers",
            )
        left = count_under_version(str(w.engine.url), w.ring, "customers.id_no", 1)
        check(left == [], "no value is left under version 1: it can be retired")
        w.ring.retire_version("customers.id_no", 1)
        say("customers.id_no v1 retired (vaultkit key retire refuses while values remain)")


def legacy(w: World, steps: Steps) -> None:
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
        check(before.failed, "the scan flags the unprotected C2 data (exit code 1)")
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
        say(
            f"{sum(d.rewritten for d in done):,} values protected over {n:,} rows: "
            f"{rate(n, time.perf_counter() - t0, 'rows')}"
        )
        check(all(d.complete for d in done), "verification pass: no plaintext left")
    with steps.step("vaultkit scan again"):
        after = show("After")
        check(not after.failed, "no unprotected C2/C3 data remains (exit code 0)")
