"""``vaultkit reencrypt`` and ``vaultkit verify`` run under the principal (a real SQLite
database written through the ORM, the CLI as a subprocess)."""

from __future__ import annotations

from pathlib import Path

from tests.cli._protected import ID_KEY, TABLE, new_ring, populate
from tests.cli._run import PASSPHRASE, fails, ok, vk
from vaultkit.audit import read
from vaultkit.keys import KeyRing, LocalKMS


def test_reencrypt_and_verify_under_a_principal(tmp_path: Path) -> None:
    ring_path = tmp_path / "ring.json"
    env = new_ring(ring_path)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    populate(ring_path, url, 20)
    with KeyRing.open(ring_path, LocalKMS(passphrase=PASSPHRASE)) as ring:
        ring.rotate_key(ID_KEY)
        ring.grant("migrator", keys="kyc.*", operations={"decrypt", "encrypt"})
        ring.grant("checker", keys="kyc.*", operations={"decrypt", "detokenize", "search"})
        ring.grant("teller", keys="kyc.*", operations={"reveal_masked"})
    trail = tmp_path / "audit.jsonl"
    env = {**env, "VAULTKIT_AUDIT": str(trail)}
    args = ("reencrypt", "--db", url, "--table", TABLE, "--column", "id_no")
    fails(vk(*args, env=env), "principal")
    fails(vk(*args, "--principal", "teller", env=env), "may not decrypt on key 'kyc.id_no'")
    ok(vk(*args, "--principal", "migrator", env=env))
    records = list(read(trail))
    assert ("decrypt", "teller", "denied") in [
        (r.operation, r.principal, r.outcome) for r in records
    ]
    assert {r.principal for r in records if r.outcome == "ok"} == {"migrator"}
    assert {r.operation for r in records if r.outcome == "ok"} == {"decrypt", "encrypt"}
    # verify reads every value back: it needs decrypt, detokenize and search
    ok(vk("verify", "--db", url, "--principal", "checker", env=env))
    # a refusal is not reported as bad data: the run stops, naming the principal
    proc = vk("verify", "--db", url, "--principal", "migrator", env=env)
    fails(proc, "access denied: principal 'migrator' may not")
    assert "bad value" not in proc.stdout + proc.stderr
