"""A key-ring stream is readable by every KEK of the ring (issue 12): the file key is wrapped
for the ring (RING stanza, a key derived from the ring key), not for the KEK that happened to
open it. Before, a stream written by the ring opened with its passphrase could not be read by
the same ring opened with its SM2 recovery key or its key file."""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from vaultkit import Vault, stream
from vaultkit.errors import DecryptionError
from vaultkit.keys import KMS, KeyRing, LocalKMS, SM2Recipients, sm2
from vaultkit.stream._format import RecipientKind, read_header

PASS = "ring stream passphrase"


def _local(passphrase: str = PASS) -> LocalKMS:
    return LocalKMS(passphrase=passphrase, scrypt_n=2**10)


@pytest.fixture
def three_keks(tmp_path: Path) -> tuple[Path, dict[str, Callable[[], KMS]]]:
    """A ring openable by a passphrase, a key file and an SM2 recovery key."""
    path = tmp_path / "ring.json"
    key_file = tmp_path / "kek.bin"
    key_file.write_bytes(secrets.token_bytes(32))
    private, public = sm2.generate_keypair()
    with KeyRing.create(path, _local()) as ring:
        ring.create_key("k")
        ring.add_kek(LocalKMS(key_file=key_file))
        ring.add_kek(SM2Recipients(public_keys=[public]), name="recovery")
    openers: dict[str, Callable[[], KMS]] = {
        "passphrase": _local,
        "key-file": lambda: LocalKMS(key_file=key_file),
        "sm2": lambda: SM2Recipients(private_key=private),
    }
    return path, openers


def _write(path: Path, kms: KMS, data: bytes) -> bytes:
    out = io.BytesIO()
    with KeyRing.open(path, kms) as ring:
        stream.encrypt(io.BytesIO(data), out, vault=ring)
    return out.getvalue()


def _read(path: Path, kms: KMS, blob: bytes) -> bytes:
    plain = io.BytesIO()
    with KeyRing.open(path, kms) as ring, Vault(ring) as vault:
        stream.decrypt(io.BytesIO(blob), plain, vault=vault)
    return plain.getvalue()


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        ("passphrase", "sm2"),
        ("sm2", "passphrase"),
        ("passphrase", "key-file"),
        ("key-file", "passphrase"),
        ("sm2", "key-file"),
    ],
)
def test_any_kek_reads_what_another_wrote(three_keks, writer: str, reader: str) -> None:
    path, openers = three_keks
    data = os.urandom(70_000)
    blob = _write(path, openers[writer](), data)
    [stanza] = read_header(io.BytesIO(blob).read).stanzas
    assert stanza.kind == RecipientKind.RING
    assert _read(path, openers[reader](), blob) == data


def test_streams_survive_kek_rotation_and_removal(three_keks, tmp_path: Path) -> None:
    """Each rotation draws a fresh ring key (a new epoch); streams of every earlier epoch stay
    readable by every KEK, streams written afterwards too."""
    path, openers = three_keks
    data = [os.urandom(5000 + i) for i in range(3)]
    blobs = [_write(path, openers["passphrase"](), data[0])]
    with KeyRing.open(path, openers["key-file"]()) as ring:
        ring.rotate_kek(others=[openers["passphrase"]()])
    blobs.append(_write(path, openers["sm2"](), data[1]))
    with KeyRing.open(path, openers["passphrase"]()) as ring:
        ring.rotate_kek(others=[openers["key-file"]()])
        ring.remove_kek("key-file")
    blobs.append(_write(path, openers["passphrase"](), data[2]))
    epochs = [
        int.from_bytes(read_header(io.BytesIO(b).read).stanzas[0].key_id[:4], "big") for b in blobs
    ]
    assert epochs == sorted(set(epochs))  # three different ring keys
    for reader in ("passphrase", "sm2"):
        for blob, plain in zip(blobs, data, strict=True):
            assert _read(path, openers[reader](), blob) == plain
    with pytest.raises(Exception):  # the removed key file no longer opens the ring at all
        KeyRing.open(path, openers["key-file"]())


def test_another_ring_and_a_forged_epoch_do_not_open(three_keks, tmp_path: Path) -> None:
    path, openers = three_keks
    blob = _write(path, openers["passphrase"](), b"x" * 1000)
    with KeyRing.create(tmp_path / "other.json", _local()) as other:
        with pytest.raises(DecryptionError):
            stream.decrypt(io.BytesIO(blob), io.BytesIO(), vault=other)
    # the same stanza claiming another epoch: no key, or the wrong one
    header = read_header(io.BytesIO(blob).read)
    stanza = header.stanzas[0]
    forged = (99).to_bytes(4, "big") + stanza.key_id[4:]
    bad = blob.replace(stanza.key_id, forged, 1)
    with KeyRing.open(path, openers["sm2"]()) as ring:
        with pytest.raises(DecryptionError):
            stream.decrypt(io.BytesIO(bad), io.BytesIO(), vault=ring)


def test_rewrap_moves_a_kms_stanza_to_the_ring(three_keks) -> None:
    """A stream written before ring stanzas existed (a KMS stanza of the passphrase KEK) is read
    by that KEK as before, and a rewrap with the ring makes it readable by every KEK."""
    path, openers = three_keks
    data = os.urandom(3000)
    with KeyRing.open(path, openers["passphrase"]()) as ring:
        old = io.BytesIO()
        stream.encrypt(io.BytesIO(data), old, vault=ring.kms)  # a bare KMS: a KMS stanza
        assert read_header(io.BytesIO(old.getvalue()).read).stanzas[0].kind == RecipientKind.KMS
        moved = io.BytesIO()
        stream.rewrap(io.BytesIO(old.getvalue()), moved, vault=ring)
    assert _read(path, openers["passphrase"](), old.getvalue()) == data
    with pytest.raises(DecryptionError):
        _read(path, openers["sm2"](), old.getvalue())
    assert _read(path, openers["sm2"](), moved.getvalue()) == data


GOLDEN = Path(__file__).parents[1] / "golden" / "stream" / "ring"
GOLDEN_MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())


@pytest.mark.parametrize("entry", GOLDEN_MANIFEST, ids=lambda e: e["file"])
@pytest.mark.parametrize("kek", ["passphrase", "sm2"])
def test_golden_ring_streams_decrypt(entry, kek: str, tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    shutil.copyfile(GOLDEN / "keyring.json", path)  # opening never writes; a copy all the same
    kms: KMS
    if kek == "passphrase":
        kms = _local((GOLDEN / "passphrase.txt").read_text().strip())
    else:
        identity = (GOLDEN.parent / "sm2_identity.hex").read_text().strip()
        kms = SM2Recipients(private_key=identity)
    blob = (GOLDEN / entry["file"]).read_bytes()
    [stanza] = read_header(io.BytesIO(blob).read).stanzas
    assert stanza.kind == RecipientKind.RING
    assert int.from_bytes(stanza.key_id[:4], "big") == entry["ring_epoch"]
    plain = _read(path, kms, blob)
    assert len(plain) == entry["plaintext_size"]
    assert hashlib.sha256(plain).hexdigest() == entry["plaintext_sha256"]
    assert plain == bytes((7 * i + 3) % 256 for i in range(len(plain)))


def test_golden_ring_set_is_complete() -> None:
    assert {e["file"] for e in GOLDEN_MANIFEST} == {p.name for p in GOLDEN.glob("*.vkb")}
