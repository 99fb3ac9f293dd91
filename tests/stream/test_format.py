"""Format v1: golden files from earlier versions still decrypt; the header codec is exact and
matches docs/stream.md; parameters are checked."""

from __future__ import annotations

import hashlib
import io
import json
import struct
from pathlib import Path

import pytest

from tests.stream.stream_helpers import FileKeyIdentity, pattern
from vaultkit import stream
from vaultkit.errors import DecryptionError, UnsupportedAlgorithmError, VaultkitTypeError
from vaultkit.stream._format import CORE_SIZE, MAGIC, RecipientKind, read_header

GOLDEN = Path(__file__).parents[1] / "golden" / "stream"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())
SM2_IDENTITY = (GOLDEN / "sm2_identity.hex").read_text().strip()


def test_golden_set_is_complete() -> None:
    files = {m["file"] for m in MANIFEST}
    assert files == {p.name for p in GOLDEN.glob("*.vkb")}
    assert {m["algorithm"] for m in MANIFEST} == {"SM4-GCM", "AES-256-GCM"}
    assert 0 in {m["plaintext_size"] for m in MANIFEST}


@pytest.mark.parametrize("entry", MANIFEST, ids=[m["file"] for m in MANIFEST])
def test_golden_files_decrypt(entry) -> None:
    blob = (GOLDEN / entry["file"]).read_bytes()
    expected = pattern(entry["plaintext_size"])
    assert hashlib.sha256(expected).hexdigest() == entry["plaintext_sha256"]
    header = read_header(io.BytesIO(blob).read)
    assert header.params.algorithm.label == entry["algorithm"]
    assert header.params.chunk_size == entry["chunk_size"]
    assert blob.startswith(header.encode())  # the codec re-encodes byte for byte
    for identity in (SM2_IDENTITY, FileKeyIdentity(bytes.fromhex(entry["file_key"]))):
        out = io.BytesIO()
        stream.decrypt(io.BytesIO(blob), out, identity=identity)
        assert out.getvalue() == expected
    with pytest.raises(DecryptionError):  # the commitment pins the file key
        stream.decrypt(io.BytesIO(blob), io.BytesIO(), identity=FileKeyIdentity(bytes(32)))


def test_header_layout_matches_the_docs(kms, sm2_pair) -> None:
    out = io.BytesIO()
    stream.encrypt(
        io.BytesIO(b"x"),
        out,
        vault=kms,
        recipients=[sm2_pair[1]],
        chunk_size=4096,
        algorithm="AES-256-GCM",
    )
    blob = out.getvalue()
    magic, version, alg, chunk_size = struct.unpack(">4sBBI", blob[:10])
    assert (magic, version, alg, chunk_size) == (MAGIC, 1, 0x02, 4096)
    assert MAGIC == b"\x89VKS" and CORE_SIZE == 49
    assert blob[49] == 2  # recipient count
    pos = 50
    kinds = []
    for _ in range(2):
        kind, id_len = blob[pos], blob[pos + 1]
        wrapped_len = int.from_bytes(blob[pos + 2 + id_len : pos + 4 + id_len], "big")
        kinds.append(kind)
        pos += 4 + id_len + wrapped_len
    assert kinds == [RecipientKind.KMS, RecipientKind.SM2]
    # KMS stanza id: KEK version (uint32) || KEK id
    assert blob[52:56] == (1).to_bytes(4, "big") and blob[56 : 56 + blob[51] - 4] == b"memory:test"
    pos += 32  # header MAC
    assert len(blob) == pos + 1 + 16  # one final chunk: 1 byte + tag
    doc = (Path(__file__).parents[2] / "docs" / "stream.md").read_text()
    for needle in ("89 56 4B 53", "uint32", "last-chunk flag", "HMAC-SM3", "0x01", "0x02"):
        assert needle in doc


def test_parameters_checked(kms) -> None:
    for bad in (0, 15, (1 << 22) + 1, 1 << 24):
        with pytest.raises(UnsupportedAlgorithmError):
            stream.open(io.BytesIO(), "wb", vault=kms, chunk_size=bad)
    with pytest.raises(UnsupportedAlgorithmError):
        stream.open(io.BytesIO(), "wb", vault=kms, algorithm="FF1-SM4")
    with pytest.raises(UnsupportedAlgorithmError):
        stream.open(io.BytesIO(), "wb", vault=kms, algorithm="ROT13")
    with pytest.raises(VaultkitTypeError):
        stream.open(io.BytesIO(), "wb")  # no recipient at all
    with pytest.raises(VaultkitTypeError):
        stream.open(io.BytesIO(), "rb")  # nothing to decrypt with
    with pytest.raises(VaultkitTypeError):
        stream.open(io.BytesIO(), "wb", recipients="04abcd")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        stream.open(io.BytesIO(), "ab", vault=kms)  # type: ignore[call-overload]
    with pytest.raises(ValueError):
        stream.open(io.BytesIO(), "wb", recipients=["00" * 10])
    with pytest.raises(VaultkitTypeError):
        stream.open(io.BytesIO(), "rb", vault=kms, recipients=["04" + "00" * 64])
    with pytest.raises(VaultkitTypeError):
        stream.open(io.BytesIO(), "wb", vault=kms, identity="11" * 32)


def test_not_a_stream() -> None:
    from tests.stream.stream_helpers import MemoryKMS

    for junk in (b"", b"PK\x03\x04" + bytes(100), MAGIC + b"\x02" + bytes(100)):
        with pytest.raises(DecryptionError):
            stream.decrypt(io.BytesIO(junk), io.BytesIO(), vault=MemoryKMS())


def test_hkdf_known_answers() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from vaultkit.hazmat.hashes import hmac_sha256, hmac_sm3
    from vaultkit.stream._seal import _hkdf

    # RFC 5869 A.3 (SHA-256, empty salt and info)
    okm = _hkdf(hmac_sha256, b"\x0b" * 22, b"", 42)
    assert okm.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )
    # HMAC-SM3 HKDF against cryptography's HKDF over SM3 (an independent implementation)
    ikm, info = bytes(range(32)), b"vaultkit stream v1" + bytes(17)
    expected = HKDF(hashes.SM3(), 80, None, info).derive(ikm)
    assert _hkdf(hmac_sm3, ikm, info, 80) == expected
