"""The demo's operations chapters: an encrypted, authenticated backup of the database (a flipped
bit refused), then access control: grants, principals, masked reveal and the audit trail (last:
once the ring has grants, every Vault over it needs a principal)."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

import sqlalchemy as sa
from rich.markup import escape

from vaultkit.cli._common import print_table
from vaultkit.cli._demo._stage import (
    Steps,
    World,
    check,
    say,
)
from vaultkit.columns import parse_token

if TYPE_CHECKING:
    pass

__all__ = ["access", "backup"]


def backup(w: World, steps: Steps) -> None:
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
        say(
            f"{size / 2**20:.1f} MiB: encrypted at {size / 2**20 / t_enc:,.0f} MiB/s, "
            f"restored at {size / 2**20 / t_dec:,.0f} MiB/s (SM4-GCM chunks, header wrapped "
            "by the KEK)"
        )
        same = (
            hashlib.sha256(db.read_bytes()).digest()
            == hashlib.sha256(restored.read_bytes()).digest()
        )
        check(same, "the restored database is byte-for-byte the original")
        engine = sa.create_engine(f"sqlite:///{restored}", hide_parameters=True)
        with engine.connect() as conn:
            count = conn.exec_driver_sql("SELECT count(*) FROM customers").scalar_one()
        engine.dispose()
        check(count == len(w.people) + 1, f"the restored database holds {count:,} customers")
        tampered = bytearray(backup.read_bytes())
        tampered[len(tampered) // 2] ^= 1
        try:
            import io

            stream.decrypt(io.BytesIO(bytes(tampered)), io.BytesIO(), vault=w.vault)
            detected = False
        except DecryptionError:
            detected = True
        check(detected, "a backup with one flipped bit is refused")


def access(w: World, steps: Steps) -> None:
    """Last: once the ring has grants, every Vault over it needs a principal."""
    from vaultkit import Vault
    from vaultkit.audit import Trail, verify
    from vaultkit.columns import column_context, row_key
    from vaultkit.errors import AccessDeniedError
    from vaultkit.masking import mask

    trail_path = w.where / "audit.jsonl"
    with steps.step("Access grants: a teller sees only masked values, every access is audited"):
        w.ring.grant("teller-app", keys="customers.*", operations={"reveal_masked"})
        say(
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
                check(
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
                    say(f"teller-app detokenize: [red]{escape(str(denied))}[/red]")
                check(denied is not None, "a plain detokenize by teller-app is denied")
        finally:
            trail.close()
        result = verify(trail_path, w.ring)
        say(f"vaultkit audit verify {trail_path.name}: intact, {result.count} records")
        check(result.ok, "the audit trail verifies (seals, chain and head)")
        lines = trail_path.read_text(encoding="utf-8").splitlines()
        denied_at = next(i for i, line in enumerate(lines) if '"outcome":"denied"' in line)
        lines[denied_at] = lines[denied_at].replace('"outcome":"denied"', '"outcome":"ok"')
        trail_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        say(f"an insider edits record {denied_at + 1}: outcome denied -> ok")
        edited = verify(trail_path, w.ring)
        say(f"vaultkit audit verify: TAMPERED at sequence number {edited.first_bad}")
        check(
            not edited.ok and edited.first_bad == denied_at + 1,
            "audit verify names the edited record",
        )
