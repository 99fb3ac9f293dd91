"""End to end with the real key ring: KeyRing / Vault / LocalKMS as the stream's KEK recipient."""

from __future__ import annotations

import io
import os

import pytest

from vaultkit import Vault, stream
from vaultkit.errors import DecryptionError
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.stream._format import read_header


@pytest.fixture
def ring(tmp_path):
    with KeyRing.create(tmp_path / "ring.json", LocalKMS(passphrase="pw", scrypt_n=2**10)) as r:
        yield r


def _kek_version(blob: bytes) -> int:
    """The first stanza's id prefix: the ring key epoch (RING stanza) or KEK version (KMS)."""
    return int.from_bytes(read_header(io.BytesIO(blob).read).stanzas[0].key_id[:4], "big")


def test_vault_and_ring_are_interchangeable(ring) -> None:
    """A Vault or a KeyRing wraps for the key ring (RING stanza); a bare KMS for its KEK (KMS
    stanza, what key-ring streams were before), which the ring still reads. A bare KMS does not
    hold the ring key: it reads only KMS stanzas."""
    data = os.urandom(200_000)
    with Vault(ring) as vault:
        out = io.BytesIO()
        stream.encrypt(io.BytesIO(data), out, vault=vault)
    by_kms = io.BytesIO()
    stream.encrypt(io.BytesIO(data), by_kms, vault=ring.kms)
    for blob, openers in ((out, (ring, Vault(ring))), (by_kms, (ring, Vault(ring), ring.kms))):
        for opener in openers:
            plain = io.BytesIO()
            stream.decrypt(io.BytesIO(blob.getvalue()), plain, vault=opener)
            assert plain.getvalue() == data
    with pytest.raises(DecryptionError):
        stream.decrypt(io.BytesIO(out.getvalue()), io.BytesIO(), vault=ring.kms)


def test_kek_rotation_then_rewrap(ring, tmp_path) -> None:
    data = os.urandom(70_000)
    out = io.BytesIO()
    stream.encrypt(io.BytesIO(data), out, vault=ring)
    old = out.getvalue()
    assert _kek_version(old) == 1
    ring.rotate_kek()
    new = io.BytesIO()
    stream.rewrap(io.BytesIO(old), new, vault=ring)
    assert _kek_version(new.getvalue()) == 2
    header_len = len(read_header(io.BytesIO(old).read).encode())
    assert new.getvalue().endswith(old[header_len:])
    for blob in (old, new.getvalue()):  # the old epoch's stream key is kept in the store
        plain = io.BytesIO()
        stream.decrypt(io.BytesIO(blob), plain, vault=ring)
        assert plain.getvalue() == data


def test_another_ring_cannot_open(ring, tmp_path) -> None:
    out = io.BytesIO()
    stream.encrypt(io.BytesIO(b"x" * 1000), out, vault=ring)
    other_kms = LocalKMS(passphrase="pw", scrypt_n=2**10)
    with KeyRing.create(tmp_path / "other.json", other_kms) as other:
        with pytest.raises(DecryptionError):
            stream.decrypt(io.BytesIO(out.getvalue()), io.BytesIO(), vault=other)


def test_signed_key_ring_stream_survives_kek_rotation(ring) -> None:
    """A key-ring-KEK stream signed by an operator key: read with the signer trusted, rewrapped
    after a KEK rotation, still signed; another trusted key is refused."""
    from vaultkit.errors import SignatureError
    from vaultkit.keys import sm2

    operator, operator_pub = sm2.generate_keypair()
    _, stranger_pub = sm2.generate_keypair()
    data = os.urandom(300_000)
    with Vault(ring) as vault:
        out = io.BytesIO()
        stream.encrypt(io.BytesIO(data), out, vault=vault, signer=operator)
    ring.rotate_kek()
    moved = io.BytesIO()
    stream.rewrap(io.BytesIO(out.getvalue()), moved, vault=ring)
    assert _kek_version(moved.getvalue()) == 2
    plain = io.BytesIO()
    stream.decrypt(io.BytesIO(moved.getvalue()), plain, vault=ring, trusted_signers=[operator_pub])
    assert plain.getvalue() == data
    with pytest.raises(SignatureError):
        stream.verify(io.BytesIO(moved.getvalue()), vault=ring, trusted_signers=[stranger_pub])
