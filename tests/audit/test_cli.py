"""``vaultkit audit verify | head | report`` through the real console script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.audit import _tamper
from tests.cli._run import PASSPHRASE, env_for, fails, ok, vk
from vaultkit import Vault
from vaultkit.audit import Trail
from vaultkit.keys import KeyRing, LocalKMS


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    ring_path = tmp_path / "ring.json"
    ring = KeyRing.create(ring_path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**10))
    ring.create_key("customers.id_no")
    path = tmp_path / "audit.jsonl"
    with Trail.open(path, ring) as trail, Vault(ring) as plain:
        ct = plain.encrypt("customers.id_no", b"x", context={})
        with Vault(ring, audit=trail.hook(principal="teller")) as v:
            for _ in range(3):
                v.decrypt(ct, context={})
        with Vault(ring, audit=trail.hook(principal="exporter")) as v:
            v.decrypt_many([ct] * 1500, context={})
            v.decrypt_many([ct] * 1500, context={})
        trail.record_key_operation("key rotate", "customers.id_no", 2, principal="ops")
    ring.close()
    return ring_path, path, env_for(ring_path)


def test_verify_head_and_a_tampered_record(setup: tuple[Path, Path, dict[str, str]]) -> None:
    _, path, env = setup
    assert "intact: 6 records" in ok(vk("audit", "verify", str(path), env=env))
    head = ok(vk("audit", "head", str(path), env=env)).strip()
    assert head.startswith("6:")
    assert "intact" in ok(vk("audit", "verify", str(path), "--head", head, env=env))
    lines = _tamper.lines(str(path))
    lines[1] = lines[1].replace('"count":1', '"count":2')
    _tamper.rewrite(str(path), lines)
    fails(vk("audit", "verify", str(path), env=env), "TAMPERED at sequence number 2", code=1)
    fails(vk("audit", "verify", str(path) + "x", env=env), "no audit trail at")


def test_report_and_alerts(setup: tuple[Path, Path, dict[str, str]]) -> None:
    _, path, env = setup
    out = json.loads(ok(vk("audit", "report", str(path), "--format", "json", env=env)))
    rows = {r["principal"]: r for r in out["rows"]}
    assert rows["exporter"]["items"] == 3000 and rows["exporter"]["bulk_reveals"] == 2
    assert rows["teller"]["records"] == 3 and rows["ops"]["records"] == 1
    md = ok(vk("audit", "report", str(path), "--by", "operation", "--since", "1h", env=env))
    assert "| decrypt | 5 | 3003 |" in md
    html = ok(vk("audit", "report", str(path), "--by", "key", "--format", "html", env=env))
    assert "<td>customers.id_no</td>" in html
    proc = vk("audit", "report", str(path), "--alert", "decrypt>2000/h", env=env)
    fails(proc, "exceeded by: exporter (3000)", code=1)
    assert "teller" not in proc.stderr
    ok(vk("audit", "report", str(path), "--alert", "decrypt>5000/1h", env=env))
    fails(vk("audit", "report", str(path), "--alert", "decrypt>many", env=env), "an alert is")
