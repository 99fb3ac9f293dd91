"""Measure the CLI's start-up and the streaming CLI's peak memory (issue 16, item 5).

Usage: python benchmarks/startup.py OUT.json   (``make bench`` runs it; ``report.py --startup``
renders the result as the "CLI start-up and memory" section of RESULTS.md);
``python benchmarks/startup.py --check`` shows that the parent's RSS does not reach the figures.

Each command runs as a child process; its CPU time comes from ``os.wait4``, its peak RSS from a
launcher, GNU ``time -f %M`` (``/usr/bin/time``, Debian's ``time`` package, installed by
scripts/system-deps.sh), so other jobs on the machine change the wall time, not these. Why a
launcher: on Linux, exec seeds a process's ``ru_maxrss`` with the high-water RSS of the address
space it replaces, and Python's subprocess starts children with vfork (the parent's address
space), so a command started from this script directly reports at least this script's own RSS
(a parent holding 100 MiB makes ``python -c pass`` report 110 MiB). ``time`` is a small C
program exec'd afresh that forks and execs the command, so the floor is its own RSS (about
2 MB), under every row here; ``--check`` shows it (see :func:`check`). The wall and CPU times
include ``time``'s own start (about a millisecond).
Rows: ``vaultkit --help`` (the console script next to this interpreter), ``python -c pass`` (the
interpreter's own floor), and ``vaultkit encrypt-file - -`` / ``decrypt-file - -`` on a pipe of
``STREAM_MIB`` MiB (peak RSS must not grow with the size), with three kinds of key: an SM2
recipient (``--recipient`` / ``--identity``, no key ring) and a key ring opened with a key file
(``VAULTKIT_KEY_FILE``: HKDF), both under ``STREAM_GOAL_MB``; and a passphrase key ring, whose
KEK comes from scrypt: ``128 * r * N`` bytes of work space while it runs (RFC 7914 section 6;
32 MiB at the default N = 2^15, r = 8, a security parameter stored in the ring), so its goal is
that work space plus ``KDF_OVERHEAD_GOAL_MB`` (what is resident when the KDF runs: the
interpreter, click, OpenSSL's hashlib and the key ring's modules, not the ciphers). Beside them,
the floor of any passphrase door: ``python`` importing click and running the same scrypt.
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
HELP_GOAL_S, HELP_GOAL_MB = 0.15, 35.0
# encrypt-file / decrypt-file peak RSS: an SM2 recipient or a key ring opened without a
# passphrase KDF (key file, SM2 identity, PKCS#11) ...
STREAM_GOAL_MB = 48.0
# ... and a passphrase key ring: scrypt's 128 * r * N bytes plus this (the click + hashlib + scrypt
# floor alone is 49 MB, see _kdf): the KDF must run before the ciphers are imported
KDF_OVERHEAD_GOAL_MB = 24.0
BIN = Path(sys.executable).parent
TIME = "/usr/bin/time"  # GNU time (Debian's `time`): %M is the command's own peak RSS in KiB


def _child(
    argv: list[str],
    env: dict[str, str],
    stdin: int | None = None,
    stdout: int | None = None,
    *,
    launcher: bool = True,
) -> dict[str, float]:
    """Wall time, CPU time and peak RSS (MB) of ``argv``; the peak as ``time -f %M`` reports it
    (the command's own), or with ``launcher=False`` this process's ``wait4`` (floored by this
    process's RSS: kept only for :func:`check`)."""
    fd, report = tempfile.mkstemp(prefix="startup-rss-")
    os.close(fd)
    try:
        cmd = [TIME, "-f", "%M", "-o", report, *argv] if launcher else argv
        start = time.perf_counter()
        sink = subprocess.DEVNULL if stdout is None else stdout
        proc = subprocess.Popen(cmd, env=env, stdin=stdin, stdout=sink)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({status})")
        kib = int(Path(report).read_text().split()[-1]) if launcher else usage.ru_maxrss
    finally:
        os.unlink(report)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": kib / 1024}


def _series(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    runs = [_child(argv, env) for _ in range(RUNS)]
    return {
        "wall_min": min(r["wall"] for r in runs),
        "wall_median": statistics.median(r["wall"] for r in runs),
        "cpu_min": min(r["cpu"] for r in runs),
        "cpu_median": statistics.median(r["cpu"] for r in runs),
        "rss_mb": max(r["rss_mb"] for r in runs),
    }


def _pipe_through(argv: list[str], env: dict[str, str], mib: int, sink: Path) -> dict[str, float]:
    """``argv`` reading a pipe fed ``mib`` MiB of zero bytes, writing ``sink``."""
    feeder = subprocess.Popen(["head", "-c", str(mib << 20), "/dev/zero"], stdout=subprocess.PIPE)
    assert feeder.stdout is not None
    try:
        with sink.open("wb") as out:
            r = _child(argv, env, stdin=feeder.stdout.fileno(), stdout=out.fileno())
    finally:
        feeder.stdout.close()
        feeder.wait()
    return r


def _read_from(argv: list[str], env: dict[str, str], source: Path) -> dict[str, float]:
    with source.open("rb") as fin:
        return _child(argv, env, stdin=fin.fileno())


def _stream(
    env: dict[str, str], work: Path, mib: int = STREAM_MIB
) -> dict[str, dict[str, float | str]]:
    """encrypt-file then decrypt-file on a pipe of ``mib`` MiB, for each kind of key: a
    passphrase key ring (``env`` holds its passphrase), the same ring opened with a key file
    KEK, an SM2 recipient. Each row: wall time, peak RSS and ``door`` (``passphrase``,
    ``key_file``, ``sm2``)."""
    vaultkit = str(BIN / "vaultkit")
    ring = work / "ring.json"
    subprocess.run([vaultkit, "init", "--keyring", str(ring)], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    key_file = work / "kek.key"
    key_file.write_text(os.urandom(32).hex())
    subprocess.run([vaultkit, "kek", "add", "--keyring", str(ring), "--key-file", str(key_file)],
                   env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([vaultkit, "sm2", "keygen", str(work / "op")], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    public, private = _sm2_files(work, "op")
    by_key_file = {k: v for k, v in env.items() if k != "VAULTKIT_PASSPHRASE"}
    by_key_file["VAULTKIT_KEY_FILE"] = str(key_file)
    ring_opts = ["--keyring", str(ring)]
    # (door, its environment, encrypt-file's options, decrypt-file's options, row name suffix)
    doors: list[tuple[str, dict[str, str], list[str], list[str], str]] = [
        ("passphrase", env, ring_opts, ring_opts, ""),
        ("key_file", by_key_file, ring_opts, ring_opts, " (key file)"),
        ("sm2", env, ["--recipient", str(public)], ["--identity", str(private)], ""),
    ]
    out: dict[str, dict[str, float | str]] = {}
    for door, door_env, enc_opts, dec_opts, suffix in doors:
        sealed = work / f"sealed-{door}.vk"
        enc = _pipe_through([vaultkit, "encrypt-file", *enc_opts, "-", "-"], door_env, mib, sealed)
        dec = _read_from([vaultkit, "decrypt-file", *dec_opts, "-", "-"], door_env, sealed)
        sealed.unlink()
        for command, opts, r in (("encrypt-file", enc_opts, enc), ("decrypt-file", dec_opts, dec)):
            # rows named as the command line reads: "encrypt-file --recipient", "decrypt-file"
            name = f"{command} {opts[0]}" if door == "sm2" else command
            out[name + suffix] = {"wall": r["wall"], "rss_mb": r["rss_mb"], "door": door}
    return out


def _sm2_files(work: Path, prefix: str) -> tuple[Path, Path]:
    """The public and private key files ``vaultkit sm2 keygen PREFIX`` wrote."""
    return work / f"{prefix}.pub", work / f"{prefix}.key"


def _kdf() -> dict[str, float]:
    """The passphrase KDF's work space (scrypt, LocalKMS defaults: 128 * r * N bytes, RFC 7914
    section 6) and the floor of any passphrase door: the peak RSS of an interpreter that imports
    click and runs that scrypt (hashlib, OpenSSL), nothing else."""
    import inspect

    from vaultkit.keys import LocalKMS

    params = inspect.signature(LocalKMS).parameters
    n, r = params["scrypt_n"].default, params["scrypt_r"].default
    code = (
        "import click, hashlib; "
        f"hashlib.scrypt(b'x', salt=bytes(16), n={n}, r={r}, p=1, maxmem={256 * r * n}, dklen=16)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTKIT_")}
    floor = _child([sys.executable, "-c", code], env)["rss_mb"]
    return {"scrypt_n": n, "scrypt_r": r, "scrypt_mib": 128 * r * n / 2**20, "floor_mb": floor}


def passphrase_goal_mb(scrypt_mib: float) -> float:
    """The peak RSS goal of a passphrase key ring's stream commands (MB as ``time`` reports
    KiB / 1024, so scrypt's MiB add as they are)."""
    return scrypt_mib + KDF_OVERHEAD_GOAL_MB


def check(hold_mib: int = 100) -> dict[str, float]:
    """Peak RSS (MB) of ``python -c pass`` while this process holds ``hold_mib`` MiB, measured
    through the launcher and, for comparison, by this process's own ``wait4`` (which reports at
    least what this process holds): the first must stay the interpreter's own floor."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTKIT_")}
    argv = [sys.executable, "-c", "pass"]
    alone = _child(argv, env)["rss_mb"]
    held = bytearray(hold_mib << 20)
    held[:: 1 << 12] = b"\x01" * len(held[:: 1 << 12])  # touch every page: resident
    try:
        return {
            "held_mib": hold_mib,
            "alone_mb": alone,
            "launcher_mb": _child(argv, env)["rss_mb"],
            "wait4_mb": _child(argv, env, launcher=False)["rss_mb"],
        }
    finally:
        del held


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1] == "--check":
        result = check()
        print(json.dumps(result, indent=2))
        ok = result["launcher_mb"] < result["alone_mb"] + 2 < result["held_mib"]
        return 0 if ok else 1
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
            # the launcher's own floor (``time`` running /bin/true): no row can read below it
            "launcher_mb": _child(["/bin/true"], env)["rss_mb"],
            "stream": _stream(stream_env, work),
            "kdf": _kdf(),
            "load_after": os.getloadavg()[0],
        }
    Path(argv[1]).write_text(json.dumps(result, indent=2))
    print(f"wrote {argv[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
