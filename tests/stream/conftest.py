"""Fixtures of the stream tests: key material for the two kinds of recipients.

``kms``: a small but real KMS (the protocol of ``vaultkit.keys._kms``) whose KEK versions are
AES-256-GCM keys held in memory, so stream tests do not depend on a key ring's file format.
End-to-end tests with ``KeyRing``/``LocalKMS`` are in test_keyring.py.
"""

from __future__ import annotations

import pytest

from tests.stream.stream_helpers import MemoryKMS
from vaultkit.keys import sm2


@pytest.fixture
def kms() -> MemoryKMS:
    return MemoryKMS()


def sm2_keypair() -> tuple[str, str]:
    """(private hex, public hex)."""
    return sm2.generate_keypair()


@pytest.fixture(scope="session")
def sm2_pair() -> tuple[str, str]:
    return sm2_keypair()


@pytest.fixture(scope="session")
def other_sm2_pair() -> tuple[str, str]:
    return sm2_keypair()
