"""4 processes x 2 threads append to one trail at once: nothing lost, the chain verifies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from vaultkit import Vault
from vaultkit.audit import Trail, read, verify
from vaultkit.keys import KeyRing

ROOT = Path(__file__).resolve().parents[2]


def test_four_processes_two_threads_each(target: str, ring: KeyRing, ring_path: Path) -> None:
    with Vault(ring) as v:
        ct = v.encrypt("customers.id_no", b"110101199003074477", context={"t": "c"})
    with Trail.open(target, ring):  # creates the audit key once, before the workers race
        pass
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.audit._writer",
                str(ring_path),
                target,
                ct.hex(),
                "3",
                str(i),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    calls = 0
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        calls += int(out)
    result = verify(target, ring)
    assert result.ok, result
    assert result.count == calls and calls > 0
    records = list(read(target))
    assert {r.principal for r in records} == {f"worker-{i}" for i in range(4)}
    assert len({r.pid for r in records}) == 4
