"""benchmarks/startup.py measures each command's own peak RSS: a parent holding 100 MiB does not
reach a ``python -c pass`` measured through its launcher (GNU ``time``), while the parent's own
``wait4`` reports at least what the parent holds (Linux seeds an exec'd child's ``ru_maxrss``
with the high-water RSS of the address space it replaced; subprocess starts children by
vfork).

And the stream commands' peak RSS, measured that way, stays under the benchmark's goals (issue
16, item 5): 48 MB with an SM2 recipient or a key file KEK; with a passphrase key ring, scrypt's
work space (``128 * N * r`` bytes at the ring's cost) plus 24 MB, i.e. the KDF runs before the
ciphers are imported (when it ran after them: the KDF + 30.7 MB, 62.7 MB in all).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _startup() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        import startup
    finally:
        sys.path.remove(str(BENCH))
    return startup


def test_the_parent_rss_does_not_reach_a_measured_command() -> None:
    startup = _startup()
    result = startup.check(hold_mib=100)
    assert result["wait4_mb"] > 100  # the bug the launcher avoids is real on this kernel
    assert result["alone_mb"] < 50  # the interpreter's own floor, measured before holding
    assert result["launcher_mb"] < result["alone_mb"] + 2


def test_stream_commands_stay_under_their_peak_rss_goals(tmp_path: Path) -> None:
    startup = _startup()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTKIT_")}
    env["VAULTKIT_PASSPHRASE"] = "startup rss: correct horse battery staple 9!"
    kdf = startup._kdf()  # the default cost `vaultkit init` gives the ring: N=2^15, r=8
    assert kdf["scrypt_mib"] == 32
    rows = startup._stream(env, tmp_path, mib=64)
    assert {r["door"] for r in rows.values()} == {"passphrase", "key_file", "sm2"}
    for name, r in rows.items():
        if r["door"] == "passphrase":
            # the KDF ran in this very process (its work space is resident at the peak)...
            assert r["rss_mb"] > kdf["scrypt_mib"], (name, r)
            # ... over no more than the interpreter, click, hashlib and the key ring's modules
            assert r["rss_mb"] < startup.passphrase_goal_mb(kdf["scrypt_mib"]), (name, r, kdf)
        else:
            assert r["rss_mb"] < startup.STREAM_GOAL_MB, (name, r)
