"""Key store integrity and lifecycle: authentication, atomic writes, locking, shredding, KEK."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vaultkit.errors import KeyStateError, KeyStoreError, KMSError
from vaultkit.keys import KeyRing, KeyState, LocalKMS, _store


def _edit(path: Path, fn) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def test_every_byte_flip_of_the_store_is_refused(ring: KeyRing, ring_path: Path, reopen) -> None:
    ring.create_key("k")
    raw = ring_path.read_bytes()
    # flip bytes across the whole file (every 7th keeps the test quick yet hits every field)
    for i in range(0, len(raw), 7):
        bad = bytearray(raw)
        bad[i] ^= 0x01
        ring_path.write_bytes(bytes(bad))
        try:
            r = reopen()
        except (KeyStoreError, KMSError):
            continue
        # a flip inside JSON whitespace changes nothing authenticated
        assert json.loads(bytes(bad)) == json.loads(raw)
        r.close()
    ring_path.write_bytes(raw)
    assert reopen().primary_key("k")


def test_truncated_store_refused(ring: KeyRing, ring_path: Path, reopen) -> None:
    ring.create_key("k")
    raw = ring_path.read_bytes()
    for cut in (0, 1, len(raw) // 2, len(raw) - 3):
        ring_path.write_bytes(raw[:cut])
        with pytest.raises(KeyStoreError):
            reopen()


def test_semantic_tampering_refused(ring: KeyRing, ring_path: Path, reopen) -> None:
    ring.create_key("a")
    ring.create_key("b")
    raw = ring_path.read_text()

    def swap_wrapped(d):
        ka, kb = d["body"]["keys"]
        ka["versions"][0]["wrapped"], kb["versions"][0]["wrapped"] = (
            kb["versions"][0]["wrapped"],
            ka["versions"][0]["wrapped"],
        )

    def retire_primary(d):
        d["body"]["keys"][0]["versions"][0]["state"] = "retired"

    def rename(d):
        d["body"]["keys"][0]["name"] = "c"

    for fn in (swap_wrapped, retire_primary, rename):
        ring_path.write_text(raw)
        _edit(ring_path, fn)
        with pytest.raises(KeyStoreError):
            reopen()


def test_swapped_store_from_another_ring_refused(tmp_path: Path, make_kms) -> None:
    a = KeyRing.create(tmp_path / "a.json", make_kms())
    b = KeyRing.create(tmp_path / "b.json", make_kms("other passphrase"))
    c = KeyRing.create(tmp_path / "c.json", make_kms())  # same passphrase as a
    a.create_key("k")
    (tmp_path / "a.json").write_bytes((tmp_path / "b.json").read_bytes())
    with pytest.raises(KeyStoreError):
        KeyRing.open(tmp_path / "a.json", make_kms())
    (tmp_path / "a.json").write_bytes((tmp_path / "c.json").read_bytes())
    with pytest.raises(KeyStoreError, match="another key ring"):
        KeyRing.open(tmp_path / "a.json", make_kms(), ring_id=a.ring_id)
    with pytest.raises(KeyStoreError, match="replaced"):
        a.keys()  # the open ring notices the swap on its next read
    b.close()
    c.close()


def test_hostile_scrypt_parameters_refused_before_scrypt_runs(
    ring: KeyRing, ring_path: Path, reopen, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = ring_path.read_text()
    calls: list[dict] = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(*args, **kwargs):
        calls.append(kwargs)
        return real_scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
    for field, value in (("n", 2**40), ("n", 2**20 + 1), ("r", 10**6), ("p", 10**6), ("n", 3)):

        def hostile(d, field=field, value=value):
            d["body"]["keks"][0]["kms"]["versions"][0][field] = value

        ring_path.write_text(raw)
        _edit(ring_path, hostile)
        with pytest.raises(KeyStoreError, match="scrypt"):
            reopen()
        # refused from the stored parameters alone: a hostile file cannot make opening hang
        assert calls == []
    ring_path.write_text(raw)
    reopen()
    assert calls, "the counter sees scrypt when the parameters are sane"


def test_destroy_erases_material_from_the_file(ring: KeyRing, ring_path: Path, reopen) -> None:
    ring.create_key("k")
    ring.rotate_key("k")
    blob = json.loads(ring_path.read_text())["body"]["keys"][0]["versions"][0]["wrapped"]["blob"]
    with pytest.raises(KeyStateError, match="primary"):
        ring.destroy_version("k", 2)
    ring.retire_version("k", 1)
    ring.destroy_version("k", 1, force=True)
    text = ring_path.read_text()
    assert blob not in text
    assert json.loads(text)["body"]["keys"][0]["versions"][0]["wrapped"] is None
    r = reopen()
    with pytest.raises(KeyStateError, match="destroyed"):
        r.key_version("k", 1, force=True)
    with pytest.raises(KeyStateError):
        r.retire_version("k", 1)  # no way back
    assert r.keys()[0].versions[0].state is KeyState.DESTROYED


def test_retire_and_activate(ring: KeyRing) -> None:
    ring.create_key("k")
    with pytest.raises(KeyStateError, match="primary"):
        ring.retire_version("k", 1)
    ring.rotate_key("k")
    ring.retire_version("k", 1)
    assert ring.readable_versions("k") == [2]
    ring.activate_version("k", 1)
    assert ring.readable_versions("k") == [2, 1]


def test_failed_write_leaves_old_store(ring: KeyRing, ring_path: Path, reopen, monkeypatch):
    ring.create_key("k")
    before = ring_path.read_bytes()

    def crash(src, dst):
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(_store.os, "replace", crash)
    with pytest.raises(KeyStoreError, match=r"simulated crash before rename.*intact"):
        ring.create_key("lost")
    monkeypatch.undo()
    assert ring_path.read_bytes() == before
    assert not [p for p in ring_path.parent.iterdir() if p.name.endswith(".tmp")]
    assert "lost" not in ring and "lost" not in reopen()


_CRASH = """
import os, sys
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.keys import _store
def crash(src, dst):
    os._exit(3)  # the process dies between the temp write and the rename
_store.os.replace = crash
ring = KeyRing.open(sys.argv[1], LocalKMS(passphrase=sys.argv[2]))
ring.rotate_kek()
"""


def _python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60
    )


def test_process_crash_between_temp_write_and_rename(
    ring: KeyRing, ring_path: Path, reopen, passphrase: str
) -> None:
    ring.create_key("k")
    material = ring.primary_key("k").material
    before = ring_path.read_bytes()
    result = _python(_CRASH, str(ring_path), passphrase)
    assert result.returncode == 3, result.stderr
    assert ring_path.read_bytes() == before  # the old store is intact ...
    leftovers = [p for p in ring_path.parent.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1  # ... the dead process's temp file is ignored
    r = reopen()
    assert r.primary_key("k").material == material
    r.rotate_key("k")  # and the store stays writable (the lock died with the process)


def test_rotate_kek_rewraps_every_key(tmp_path: Path) -> None:
    # Its speed (1,000 keys well under a second) is measured in benchmarks/bench_cli.py.
    kms = LocalKMS(passphrase="pw")  # production scrypt cost
    ring = KeyRing.create(tmp_path / "big.json", kms)
    ring.create_keys([f"table{i // 10}.column{i % 10}" for i in range(1000)])
    before = {k.name: ring.primary_key(k.name).material for k in ring.keys()[:20]}
    assert ring.rotate_kek() == 2
    again = KeyRing.open(tmp_path / "big.json", LocalKMS(passphrase="pw"))
    assert {v.kek_version for k in again.keys() for v in k.versions} == {2}
    assert {n: again.primary_key(n).material for n in before} == before


def test_rotate_kek_with_new_passphrase(ring: KeyRing, ring_path: Path, make_kms) -> None:
    ring.create_key("k")
    material = ring.primary_key("k").material
    ring.kms.set_next_secret(passphrase="new passphrase")  # type: ignore[attr-defined]
    ring.rotate_kek()
    with pytest.raises(KeyStoreError):
        KeyRing.open(ring_path, make_kms())
    assert KeyRing.open(ring_path, make_kms("new passphrase")).primary_key("k").material == material


_WRITER = """
import sys
from vaultkit.keys import KeyRing, LocalKMS
ring = KeyRing.open(sys.argv[1], LocalKMS(passphrase=sys.argv[2]))
for i in range(15):
    ring.create_key(f"{sys.argv[3]}{i}")
"""


def test_concurrent_writers_lose_nothing(ring: KeyRing, ring_path: Path, passphrase: str) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(ring_path), passphrase, prefix])
        for prefix in ("p", "q")
    ]
    for i in range(15):
        ring.create_key(f"r{i}")
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    names = {k.name for k in ring.keys()}
    assert names == {f"{p}{i}" for p in "pqr" for i in range(15)}
    assert len({k.key_id for k in ring.keys()}) == 45


def test_missing_directory_is_a_clear_error(tmp_path: Path, make_kms) -> None:
    with pytest.raises(KeyStoreError, match="cannot lock"):
        KeyRing.create(tmp_path / "no" / "such" / "ring.json", make_kms())
    with pytest.raises(KeyStoreError, match="no key store"):
        KeyRing.open(tmp_path / "missing.json", make_kms())


def test_lock_timeout_is_a_clear_error(ring_path: Path, ring: KeyRing) -> None:
    with _store.locked(ring_path):
        with pytest.raises(KeyStoreError, match="locked"):
            with _store.locked(ring_path, timeout=0.05):
                pass


def test_open_ring_survives_a_refused_file(ring: KeyRing, ring_path: Path) -> None:
    ring.create_key("k")
    material = ring.primary_key("k").material
    raw = ring_path.read_bytes()

    def other_salt(d):
        d["body"]["keks"][0]["kms"]["versions"][0]["salt"] = "00" * 16

    _edit(ring_path, other_salt)
    with pytest.raises(KeyStoreError):
        ring.keys()
    ring_path.write_bytes(raw)  # the good store is back
    os.utime(ring_path, ns=(time.time_ns(), time.time_ns() + 1000))
    assert ring.primary_key("k").material == material


def test_kms_state_reads_the_backend_without_opening(
    ring: KeyRing, ring_path: Path, tmp_path: Path
) -> None:
    state = KeyRing.kms_state(ring_path)
    assert state["kind"] == "local" and state["source"] == "passphrase"
    assert state == ring.kms.state()
    state["kind"] = "changed"  # a copy: the ring and the file are untouched
    assert KeyRing.kms_state(str(ring_path))["kind"] == "local"
    with pytest.raises(KeyStoreError, match="no key store"):
        KeyRing.kms_state(tmp_path / "missing.json")
    for junk in ["{}", "[]", "not json", '{"vaultkit_keyring": 1, "body": {"kms": {}}}']:
        (tmp_path / "junk.json").write_text(junk)
        with pytest.raises(KeyStoreError, match="is not a vaultkit key store"):
            KeyRing.kms_state(tmp_path / "junk.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe")
    with pytest.raises(KeyStoreError, match="is not a vaultkit key store"):
        KeyRing.kms_state(tmp_path / "bin.json")


def test_store_replaced_between_read_and_stat_is_reloaded(
    ring: KeyRing, ring_path: Path, reopen, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process rewrites the store right after this ring read it: the ring must not take
    # the new file's (inode, mtime, size) as the stamp of the old content it read, or it would
    # keep serving the old state (here: version 1 as primary) until the file changes again.
    ring.create_key("k")
    other = reopen()
    real_stat = os.stat
    armed = [True]

    def stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if armed[0] and os.fspath(path) == os.fspath(ring_path):
            armed[0] = False
            other.rotate_key("k")
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    ring.reload()
    assert ring.primary_key("k").version == 2
    other.close()


def test_failed_directory_sync_does_not_claim_the_old_store_is_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "store"
    path.write_bytes(b"old")
    real_open = os.open

    def failing_open(p, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(p) == os.fspath(tmp_path):
            raise OSError(5, "Input/output error")
        return real_open(p, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing_open)
    with pytest.raises(KeyStoreError) as exc:
        _store.write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert "intact" not in str(exc.value)


def test_a_closed_ring_refuses_every_operation(ring: KeyRing) -> None:
    ring.create_key("before")
    ring.close()
    for op in (
        lambda: ring.create_key("after"),
        lambda: ring.rotate_key("before"),
        lambda: ring.keys(),
        lambda: ring.primary_key("before"),
        lambda: ring.reload(),
    ):
        with pytest.raises(KeyStoreError, match="closed"):
            op()
