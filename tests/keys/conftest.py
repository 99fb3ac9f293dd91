"""Key ring fixtures: a cheap scrypt cost keeps tests fast (production default is 2^15)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vaultkit.keys import KeyRing, LocalKMS

PASSPHRASE = "correct horse battery staple"


def local_kms(passphrase: str = PASSPHRASE, **kw: object) -> LocalKMS:
    return LocalKMS(passphrase=passphrase, scrypt_n=2**10, **kw)  # type: ignore[arg-type]


@pytest.fixture
def passphrase() -> str:
    return PASSPHRASE


@pytest.fixture
def make_kms() -> Callable[..., LocalKMS]:
    return local_kms


@pytest.fixture
def ring_path(tmp_path: Path) -> Path:
    return tmp_path / "keyring.json"


@pytest.fixture
def ring(ring_path: Path) -> Iterator[KeyRing]:
    r = KeyRing.create(ring_path, local_kms())
    yield r
    r.close()


@pytest.fixture
def reopen(ring_path: Path) -> Callable[..., KeyRing]:
    def _open(passphrase: str = PASSPHRASE) -> KeyRing:
        return KeyRing.open(ring_path, local_kms(passphrase))

    return _open
