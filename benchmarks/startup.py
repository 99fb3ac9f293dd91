"""Measure the CLI's start-up and the streaming CLI's peak memory (issue 16, item 5).

Usage: python benchmarks/startup.py OUT.json   (``make bench`` runs it; ``report.py --startup``
renders the result as the "CLI start-up and memory" section of RESULTS.md)

Each command runs as a child process; ``os.wait4`` gives that child's own CPU time and peak RSS
(``ru_maxrss``, KiB on Linux), so other jobs on the machine change the wall time, not these.
Rows: ``vaultkit --help`` (the console script next to this interpreter), ``python -c pass`` (the
interpreter's own floor), and ``vaultkit encrypt-file - -`` / ``decrypt-file - -`` on a pipe of
``STREAM_MIB`` MiB (peak RSS must not grow with the size: the goal is under 48 MB whatever the
size), once with a passphrase key ring (its KEK derived by scrypt) and once with an SM2 recipient
(``--recipient`` / ``--identity``, no key ring). Beside them: the resident size of the stream
command's imports alone and the scrypt work space its parameters imply (128 * r * N bytes,
RFC 7914 section 6, allocated while those imports are resident), so the passphrase case's peak
can be read as imports + KDF.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 20
STREAM_MIB = 2048
HELP_GOAL_S, HELP_GOAL_MB, STREAM_GOAL_MB = 0.15, 35.0, 48.0
BIN = Path(sys.executable).parent


def _child(
    argv: list[str], env: dict[str, str], stdin: int | None = None, stdout: int | None = None
) -> dict[str, float]:
    start = time.perf_counter()
    sink = subprocess.DEVNULL if stdout is None else stdout
    proc = subprocess.Popen(argv, env=env, stdin=stdin, stdout=sink)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({status})")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
    }


def _series(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    runs = [_child(argv, env) for _ in range(RUNS)]
    return {
        "wall_min": min(r["wall"] for r in runs),
        "wall_median": statistics.median(r["wall"] for r in runs),
        "cpu_min": min(r["cpu"] for r in runs),
        "cpu_median": statistics.median(r["cpu"] for r in runs),
        "rss_mb": max(r["rss_mb"] for r in runs),
    }


def _stream(env: dict[str, str], work: Path) -> dict[str, dict[str, float]]:
    """encrypt-file then decrypt-file, each reading a pipe fed by a writer of zero bytes."""
    ring = work / "ring.json"
    subprocess.run(
        [str(BIN / "vaultkit"), "init", "--keyring", str(ring)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    sealed = work / "sealed.vk"
    out: dict[str, dict[str, float]] = {}
    feeder = subprocess.Popen(
        ["head", "-c", str(STREAM_MIB << 20), "/dev/zero"], stdout=subprocess.PIPE
    )
    with sealed.open("wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(BIN / "vaultkit"), "encrypt-file", "--keyring", str(ring), "-", "-"],
            env=env,
            stdin=feeder.stdout,
            stdout=sink,
        )
        assert feeder.stdout is not None
        feeder.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    feeder.wait()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("encrypt-file failed")
    out["encrypt-file"] = {"wall": wall, "rss_mb": usage.ru_maxrss / 1024}
    with sealed.open("rb") as source:
        r = _child(
            [str(BIN / "vaultkit"), "decrypt-file", "--keyring", str(ring), "-", "-"],
            env,
            stdin=source.fileno(),
        )
    out["decrypt-file"] = {"wall": r["wall"], "rss_mb": r["rss_mb"]}
    # the same streams for an SM2 recipient: no key ring, so no scrypt
    subprocess.run(
        [str(BIN / "vaultkit"), "sm2", "keygen", str(work / "op")],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    public, private = _sm2_files(work, "op")
    sealed_sm2 = work / "sealed-sm2.vk"
    feeder = subprocess.Popen(
        ["head", "-c", str(STREAM_MIB << 20), "/dev/zero"], stdout=subprocess.PIPE
    )
    assert feeder.stdout is not None
    with sealed_sm2.open("wb") as sink:
        r = _child(
            [str(BIN / "vaultkit"), "encrypt-file", "--recipient", str(public), "-", "-"],
            env,
            stdin=feeder.stdout.fileno(),
            stdout=sink.fileno(),
        )
    feeder.stdout.close()
    feeder.wait()
    out["encrypt-file --recipient"] = {"wall": r["wall"], "rss_mb": r["rss_mb"]}
    with sealed_sm2.open("rb") as source:
        r = _child(
            [str(BIN / "vaultkit"), "decrypt-file", "--identity", str(private), "-", "-"],
            env,
            stdin=source.fileno(),
        )
    out["decrypt-file --identity"] = {"wall": r["wall"], "rss_mb": r["rss_mb"]}
    return out


def _sm2_files(work: Path, prefix: str) -> tuple[Path, Path]:
    """The public and private key files ``vaultkit sm2 keygen PREFIX`` wrote."""
    return work / f"{prefix}.pub", work / f"{prefix}.key"


def _kdf() -> dict[str, float]:
    """The passphrase KDF's work space (scrypt, LocalKMS defaults: 128 * r * N bytes, RFC 7914
    section 6) and the resident size of the stream command's imports alone (a child that only
    imports them), the floor the KDF's buffer adds to."""
    import inspect

    from vaultkit.keys import LocalKMS

    params = inspect.signature(LocalKMS).parameters
    n, r = params["scrypt_n"].default, params["scrypt_r"].default
    code = "import vaultkit.cli._stream, vaultkit.stream, vaultkit.keys"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTKIT_")}
    imports = _child([sys.executable, "-c", code], env)["rss_mb"]
    return {"scrypt_n": n, "scrypt_r": r, "scrypt_mib": 128 * r * n / 2**20, "imports_mb": imports}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTKIT_")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        stream_env = dict(env, VAULTKIT_PASSPHRASE="bench: correct horse battery staple 9!")
        result = {
            "runs": RUNS,
            "stream_mib": STREAM_MIB,
            "load_before": os.getloadavg()[0],
            "help": _series([str(BIN / "vaultkit"), "--help"], env),
            "floor": _series([sys.executable, "-c", "pass"], env),
            "stream": _stream(stream_env, work),
            "kdf": _kdf(),
            "load_after": os.getloadavg()[0],
        }
    Path(argv[1]).write_text(json.dumps(result, indent=2))
    print(f"wrote {argv[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
