"""The trail as a Vault hook: records, fail closed, key operations, rotation, logging."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audit import _tamper
from tests.audit.conftest import PrivatePostgres, kms
from vaultkit import Vault
from vaultkit.audit import LogBridge, Trail, read, verify
from vaultkit.errors import AuditError, DecryptionError
from vaultkit.keys import Algorithm, KeyRing

CTX = {"table": "customers", "row": "ROWVALUE"}
SECRET = b"6222020200112233445"


def test_every_vault_operation_is_recorded_with_its_outcome(target: str, ring: KeyRing) -> None:
    with Trail.open(target, ring, principal="teller-app") as trail, Vault(ring, audit=trail) as v:
        ct = v.encrypt("customers.id_no", SECRET, context=CTX)
        assert v.decrypt(ct, context=CTX) == SECRET
        assert v.decrypt_many([ct] * 3, context=CTX) == [SECRET] * 3
        with pytest.raises(DecryptionError):
            v.decrypt(ct, context={"table": "other", "row": "ROWVALUE"})
    records = list(read(target))
    assert [(r.operation, r.count, r.outcome) for r in records] == [
        ("encrypt", 1, "ok"),
        ("decrypt", 1, "ok"),
        ("decrypt", 3, "ok"),
        ("decrypt", 1, "error"),
    ]
    r = records[1]
    assert r.principal == "teller-app" and r.key == "customers.id_no" and r.version == 1
    assert r.context == ("row", "table") and r.pid > 0 and r.host and r.time.endswith("Z")
    assert verify(target, ring).ok
    assert "ROWVALUE" not in "".join(_tamper.lines(target))  # context values never stored


def test_the_audit_key_is_an_hmac_sm3_key_of_the_ring(tmp_path: Path, ring: KeyRing) -> None:
    with Trail.open(tmp_path / "a.jsonl", ring):
        pass
    assert ring.key_info("vaultkit.audit").algorithm is Algorithm.HMAC_SM3


def test_a_hook_records_its_own_principal(tmp_path: Path, ring: KeyRing) -> None:
    path = tmp_path / "a.jsonl"
    with Trail.open(path, ring) as trail:
        with Vault(ring, audit=trail.hook(principal="batch-job")) as v:
            v.encrypt("customers.id_no", SECRET, context=CTX)
        with Vault(ring, audit=trail) as v:
            v.encrypt("customers.id_no", SECRET, context=CTX)
    assert [r.principal for r in read(path)] == ["batch-job", None]


def test_key_operations_are_recorded_with_the_operator(tmp_path: Path, ring: KeyRing) -> None:
    path = tmp_path / "a.jsonl"
    with Trail.open(path, ring) as trail:
        version = ring.rotate_key("customers.id_no")
        trail.record_key_operation("key rotate", "customers.id_no", version, principal="ops-li")
        trail.record_key_operation("kek rotate", None, principal="ops-li")
    assert [(r.operation, r.version, r.principal) for r in read(path)] == [
        ("key rotate", 2, "ops-li"),
        ("kek rotate", None, "ops-li"),
    ]
    assert verify(path, ring).ok


# -- fail closed ------------------------------------------------------------------------------
@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[Path]:
    """A trail file that cannot be written (``chattr +i``: read-only even for root)."""
    path = tmp_path / "a.jsonl"
    path.touch()
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_trail_refuses_decrypt(immutable: Path, ring: KeyRing) -> None:
    with Vault(ring) as plain:
        ct = plain.encrypt("customers.id_no", SECRET, context=CTX)
    results: list[bytes] = []
    with Trail.open(immutable, ring) as trail, Vault(ring, audit=trail) as v:
        with pytest.raises(AuditError) as info:
            results.append(v.decrypt(ct, context=CTX))
        with pytest.raises(AuditError):
            results.append(v.decrypt_many([ct] * 5, context=CTX)[0])
        with pytest.raises(AuditError):
            v.encrypt("customers.id_no", SECRET, context=CTX)
    assert results == []  # nothing returned
    assert info.value.__cause__ is None and "could not be written" in str(info.value)
    assert immutable.read_bytes() == b""


def test_a_stopped_postgresql_refuses_decrypt(
    private_postgres: PrivatePostgres, ring: KeyRing
) -> None:
    with Vault(ring) as plain:
        ct = plain.encrypt("customers.id_no", SECRET, context=CTX)
    results: list[bytes] = []
    with Trail.open(private_postgres.url, ring) as trail, Vault(ring, audit=trail) as v:
        assert v.decrypt(ct, context=CTX) == SECRET
        private_postgres.stop()
        with pytest.raises(AuditError):
            results.append(v.decrypt(ct, context=CTX))
        with pytest.raises(AuditError):
            results.append(v.decrypt_many([ct] * 5, context=CTX)[0])
        assert results == []
        private_postgres.start()  # back up: the same trail carries on and verifies
        assert v.decrypt(ct, context=CTX) == SECRET
    assert verify(private_postgres.url, ring).ok
    assert [r.seq for r in read(private_postgres.url)] == [1, 2]


def test_a_full_disk_refuses_decrypt_and_the_torn_line_is_cut(
    tmp_path: Path, ring_path: Path
) -> None:
    """RLIMIT_FSIZE makes the write short, as a full disk does (in a child process)."""
    path = tmp_path / "a.jsonl"
    code = f"""
import os, resource, signal
from vaultkit import Vault
from vaultkit.audit import Trail
from vaultkit.errors import AuditError
from vaultkit.keys import KeyRing
from tests.audit.conftest import kms
ring = KeyRing.open({str(ring_path)!r}, kms())
v = Vault(ring, audit=Trail.open({str(path)!r}, ring))
ct = v.encrypt("customers.id_no", b"x", context={{}})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = os.path.getsize({str(path)!r}) + 100  # room for part of one more record
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
for call in (lambda: v.decrypt(ct, context={{}}), lambda: v.decrypt_many([ct] * 9, context={{}})):
    try:
        call()
    except AuditError:
        print("refused")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["refused", "refused"]
    assert not path.read_bytes().endswith(b"\n")  # a torn record was left behind
    with KeyRing.open(ring_path, kms()) as r:
        with Trail.open(path, r) as trail:  # the next writer cuts it; the chain carries on
            trail.record_key_operation("kek rotate", None, principal="ops")
        result = verify(path, r)
        assert result.ok and result.count == 2, result


# -- rotation -----------------------------------------------------------------------------------
def test_rotation_by_size_continues_the_chain(tmp_path: Path, ring: KeyRing) -> None:
    path = tmp_path / "a.jsonl"
    with Trail.open(path, ring, max_bytes=1000) as trail, Vault(ring, audit=trail) as v:
        for _ in range(20):
            v.encrypt("customers.id_no", SECRET, context=CTX)
    rotated = sorted(tmp_path.glob("a.jsonl.0*"))
    assert len(rotated) >= 3
    assert verify(path, ring).ok and verify(path, ring).count == 20
    # a rotated file removed is a gap in the chain
    rotated[1].unlink()
    result = verify(path, ring)
    assert not result.ok and result.first_bad is not None and result.first_bad > 1


def test_rotation_by_day(tmp_path: Path, ring: KeyRing) -> None:
    path = tmp_path / "a.jsonl"
    with Trail.open(path, ring, daily=True) as trail:
        trail.record_key_operation("key create", "a", 1, principal="ops")
    # yesterday's record: rewrite its time, re-sealed as the trail would have sealed it then
    from vaultkit.audit._record import make, parse
    from vaultkit.audit._trail import audit_key

    _, key = audit_key(ring, "vaultkit.audit")
    rec = parse(path.read_text().strip())
    fields = {k: v for k, v in json.loads(rec.to_json()).items() if k != "seal"}
    fields["time"] = "2020-01-01T00:00:00.000000Z"
    path.write_text(make(key, **fields).to_json() + "\n")
    with Trail.open(path, ring, daily=True) as trail:
        trail.record_key_operation("key rotate", "a", 2, principal="ops")
    assert (tmp_path / "a.jsonl.000000000001").exists()
    assert len(path.read_text().splitlines()) == 1
    assert verify(path, ring).ok and verify(path, ring).count == 2


# -- logging bridge ---------------------------------------------------------------------------
def test_records_reach_a_logger(
    tmp_path: Path, ring: KeyRing, caplog: pytest.LogCaptureFixture
) -> None:
    with Trail.open(tmp_path / "a.jsonl", ring, principal="teller") as trail:
        trail.add_listener(LogBridge("bank.siem"))
        with caplog.at_level(logging.INFO, logger="bank.siem"), Vault(ring, audit=trail) as v:
            ct = v.encrypt("customers.id_no", SECRET, context=CTX)
            with pytest.raises(DecryptionError):
                v.decrypt(ct, context={})
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.WARNING]
    assert "op=encrypt" in caplog.records[0].getMessage()
    assert caplog.records[1].vaultkit_audit["outcome"] == "error"  # type: ignore[attr-defined]
    assert "6222" not in caplog.text and "ROWVALUE" not in caplog.text


def test_an_event_carrying_its_principal_and_a_denial(tmp_path: Path, ring: KeyRing) -> None:
    """The shape access grants will emit: the event's own principal and outcome win."""
    from dataclasses import dataclass

    @dataclass
    class Denied:
        operation: str = "detokenize"
        key_name: str = "customers.card"
        version: int | None = None
        context_keys: tuple[str, ...] = ("column",)
        count: int = 1
        ok: bool = False
        outcome: str = "denied"
        principal: str = "teller-app"

    path = tmp_path / "a.jsonl"
    with Trail.open(path, ring, principal="default") as trail:
        trail(Denied())
    (r,) = read(path)
    assert (r.principal, r.outcome, r.operation) == ("teller-app", "denied", "detokenize")


def test_a_forked_child_appends_to_the_same_chain(tmp_path: Path, ring: KeyRing) -> None:
    import os

    path = tmp_path / "a.jsonl"
    with Trail.open(path, ring) as trail:
        trail.record_key_operation("key create", "a", 1, principal="parent")
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                trail.record_key_operation("key rotate", "a", 2, principal="child")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        trail.record_key_operation("key retire", "a", 1, principal="parent")
    records = list(read(path))
    assert [r.principal for r in records] == ["parent", "child", "parent"]
    assert records[1].pid != records[0].pid
    assert verify(path, ring).ok


def test_a_failing_listener_does_not_fail_the_operation(tmp_path: Path, ring: KeyRing) -> None:
    def broken(_record: object) -> None:
        raise ConnectionError("SIEM down")

    with Trail.open(tmp_path / "a.jsonl", ring) as trail, Vault(ring, audit=trail) as v:
        trail.add_listener(broken)
        ct = v.encrypt("customers.id_no", SECRET, context=CTX)
        assert v.decrypt(ct, context=CTX) == SECRET
    assert len(list(read(tmp_path / "a.jsonl"))) == 2
