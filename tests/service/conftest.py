"""Fixtures of the key service tests: a key ring with principals, grants and tokens, and a real
``vaultkit serve`` process on a free loopback port (started and stopped here, SIGTERM)."""

from __future__ import annotations

import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli._run import PASSPHRASE, env_for
from tests.ext.models import KEYS
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.remote import RemoteVault
from vaultkit.vault import Vault

OPS = {"encrypt", "decrypt", "tokenize", "detokenize", "search", "reveal_masked"}


@dataclass
class Principals:
    """Bearer tokens of the test principals: ``app`` may do everything on every key;
    ``teller`` may only reveal masked values; ``limited`` has a low rate limit."""

    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def ring_path(tmp_path: Path) -> Path:
    path = tmp_path / "keyring.vk"
    ring = KeyRing.create(path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12))
    for name, algorithm in {
        **KEYS,
        "c.name": "SM4-GCM",
        "c.card": "FF1-SM4",
        "c.bidx": "HMAC-SM3",
    }.items():
        ring.create_key(name, algorithm=algorithm)
    ring.close()
    return path


def open_ring(path: Path) -> KeyRing:
    return KeyRing.open(path, LocalKMS(passphrase=PASSPHRASE))


@pytest.fixture
def principals(ring_path: Path) -> Principals:
    ring = open_ring(ring_path)
    try:
        ring.grant("app", keys="*", operations=OPS)
        ring.grant("teller", keys="*", operations={"reveal_masked"})
        ring.grant("limited", keys="*", operations=OPS, max_per_minute=5)
        ring.grant("tls-app", keys="*", operations=OPS)
        return Principals({p: ring.issue_token(p) for p in ("app", "teller", "limited", "nobody")})
    finally:
        ring.close()


class Server:
    """A ``vaultkit serve`` process; :attr:`url` once it listens."""

    def __init__(self, ring: Path, tmp: Path, *args: str, env: dict[str, str] | None = None):
        self.audit = tmp / "audit.jsonl"
        self.env = env_for(ring, **(env or {}))
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vaultkit",
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--audit",
                str(self.audit),
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=self.env,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 120)
        line = self.proc.stdout.readline() if ready else ""
        if "listening on " not in line:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"vaultkit serve did not start: {line!r} {err}")
        self.url = line.split("listening on ")[1].split()[0]

    def records(self) -> list[str]:
        return self.audit.read_text(encoding="utf-8").splitlines() if self.audit.exists() else []

    def stop(self) -> int:
        """SIGTERM, then the exit code (uvicorn drains the requests in flight first)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def server(ring_path: Path, principals: Principals, tmp_path: Path) -> Iterator[Server]:
    s = Server(ring_path, tmp_path)
    try:
        yield s
    finally:
        assert s.stop() == 0


@pytest.fixture
def remote(server: Server, principals: Principals) -> Iterator[RemoteVault]:
    """A RemoteVault calling the server as ``app`` (every operation on every key)."""
    with RemoteVault(server.url, token=principals.tokens["app"]) as r:
        yield r


@pytest.fixture
def local(ring_path: Path) -> Iterator[Vault]:
    """The in-process Vault over the server's key ring, as ``app``: what a RemoteVault must
    answer alike."""
    ring = open_ring(ring_path)
    with Vault(ring, principal="app") as v:
        yield v
    ring.close()
