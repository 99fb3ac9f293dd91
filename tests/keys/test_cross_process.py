"""Issue 12, defect 2, across real processes: one process encrypts in a loop while another
rotates, retires, re-encrypts (what ``vaultkit reencrypt`` does) and destroys key versions. No
ciphertext is ever written under a destroyed version: every one decrypts afterwards, with
spawned and with forked encryptors. (Before the fix the encryptor kept its cached primary for
the cache lifetime, 300 s, and wrote under versions already destroyed.)

The guarantee rests on two bounds (docs/keys.md, "Destroying a version"): an encrypting Vault
stats the key store at most STORE_CHECK_INTERVAL (0.25 s) apart and never encrypts under a
version the latest store does not make primary; ``destroy_version`` refuses a version retired
less than ``grace`` seconds ago. The test uses a short grace (2 s) instead of the default 300 s.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from vaultkit import Vault
from vaultkit.envelope import inspect
from vaultkit.errors import KeyStateError
from vaultkit.keys import KeyRing, KeyState

from ._workers import CTX, encrypt_loop
from .conftest import local_kms

GRACE = 2.0
ROUNDS = 3


def _lines(path: Path) -> list[bytes]:
    """The complete lines written so far (the writer may be in the middle of one)."""
    text = path.read_text(encoding="ascii") if path.exists() else ""
    return [bytes.fromhex(line) for line in text.split("\n")[:-1]]


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_rotate_retire_destroy_while_another_process_encrypts(tmp_path: Path, method: str) -> None:
    path = tmp_path / "ring.json"
    ring = KeyRing.create(path, local_kms())
    ring.create_key("k")
    out = tmp_path / "cts.txt"
    mp = multiprocessing.get_context(method)
    stop, started = mp.Event(), mp.Event()
    parent_vault = None
    if method == "fork":
        # the child inherits this vault, with a DEK cached under v1
        parent_vault = Vault(KeyRing.open(path, local_kms()))
        parent_vault.encrypt("k", b"warm", context=CTX)
        source: object = parent_vault
    else:
        source = str(path)
    worker = mp.Process(target=encrypt_loop, args=(source, str(out), stop, started))
    worker.start()
    try:
        assert started.wait(120), "the encryptor did not start"
        destroyed: set[int] = set()
        migrated: dict[int, bytes] = {}  # line number -> the row re-encrypted under the primary
        with Vault(ring) as migrator:
            for _ in range(ROUNDS):
                new = ring.rotate_key("k")
                ring.retire_version("k", new - 1)
                with pytest.raises(KeyStateError, match="retired"):
                    ring.destroy_version("k", new - 1, grace=GRACE)  # too soon
                # wait out the grace while the other process keeps encrypting
                deadline = time.monotonic() + GRACE
                while time.monotonic() < deadline:
                    time.sleep(0.05)
                # re-encrypt every row written so far under the old version, then destroy it
                for i, line in enumerate(_lines(out)):
                    ct = migrated.get(i, line)
                    if inspect(ct).version == new - 1:
                        plain = migrator.decrypt(ct, context=CTX, force=True)
                        migrated[i] = migrator.encrypt("k", plain, context=CTX)
                ring.destroy_version("k", new - 1, grace=GRACE)
                destroyed.add(new - 1)
    finally:
        stop.set()
        worker.join(120)
    assert worker.exitcode == 0
    versions = {v.version: v.state for v in ring.key_info("k").versions}
    assert {v for v, s in versions.items() if s is KeyState.DESTROYED} == destroyed
    rows = _lines(out)
    written = {inspect(ct).version for ct in rows}
    assert len(written) >= 2, written  # it encrypted across rotations
    cts = [migrated.get(i, ct) for i, ct in enumerate(rows)]
    late = [i for i, ct in enumerate(cts) if inspect(ct).version in destroyed]
    assert not late, f"{len(late)} rows written under a version after it was destroyed"
    with Vault(ring) as v:
        plain = v.decrypt_many(cts, context=CTX, force=True)
    assert plain == [f"value {i}".encode() for i in range(len(cts))]
    if parent_vault is not None:
        parent_vault.close()
    ring.close()
