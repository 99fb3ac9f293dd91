"""Signed streams (format v2): an operator's SM2 signature over the header and the content;
readers with ``trusted_signers`` refuse unsigned, foreign and forged streams, and a recipient
who knows the file key cannot swap the content under a valid signed header."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from pathlib import Path

import pytest

from tests.stream.stream_helpers import FileKeyIdentity, pattern
from vaultkit import stream
from vaultkit.errors import (
    DecryptionError,
    InvalidKeyError,
    SignatureError,
    StreamModifiedError,
    StreamTruncatedError,
    VaultkitTypeError,
)
from vaultkit.keys import sm2
from vaultkit.stream._format import (
    SIGNATURE_BLOCK_SIZE,
    VERSION_SIGNED,
    Params,
    decode_signature_block,
    read_header,
)
from vaultkit.stream._seal import ChunkCipher, build_header, new_nonce_prefix, unlock
from vaultkit.stream._signing import Signer

GOLDEN = Path(__file__).parents[1] / "golden" / "stream"
V2 = GOLDEN / "v2"
MANIFEST = json.loads((V2 / "manifest.json").read_text())
IDENTITY = (GOLDEN / "sm2_identity.hex").read_text().strip()
GOLDEN_SIGNER = (V2 / "sm2_signer_public.hex").read_text().strip()

CS = 64
RECORD = CS + 16
DATA = bytes(range(256)) * 2 + b"tail"  # 8 full chunks and a final one of 4 bytes


@pytest.fixture(scope="module")
def signer() -> tuple[str, str]:
    return sm2.generate_keypair()


@pytest.fixture(scope="module")
def intruder() -> tuple[str, str]:
    return sm2.generate_keypair()


def _encrypt(data: bytes = DATA, **kw: object) -> bytes:
    out = io.BytesIO()
    stream.encrypt(io.BytesIO(data), out, chunk_size=CS, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def _decrypt(blob: bytes, **kw: object) -> bytes:
    out = io.BytesIO()
    stream.decrypt(io.BytesIO(blob), out, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def _split(blob: bytes) -> tuple[bytes, list[bytes], bytes]:
    """header, chunk records, trailer (the content signature block)."""
    header = read_header(io.BytesIO(blob).read).encode()
    body, trailer = blob[len(header) : -SIGNATURE_BLOCK_SIZE], blob[-SIGNATURE_BLOCK_SIZE:]
    return header, [body[i : i + RECORD] for i in range(0, len(body), RECORD)], trailer


# -- golden files ------------------------------------------------------------------------------
def test_golden_set_is_complete() -> None:
    assert {m["file"] for m in MANIFEST} == {p.name for p in V2.glob("*.vkb")}


@pytest.mark.parametrize("entry", MANIFEST, ids=[m["file"] for m in MANIFEST])
def test_golden_signed_files(entry, intruder) -> None:
    blob = (V2 / entry["file"]).read_bytes()
    expected = pattern(entry["plaintext_size"])
    assert hashlib.sha256(expected).hexdigest() == entry["plaintext_sha256"]
    header = read_header(io.BytesIO(blob).read)
    assert header.params.version == VERSION_SIGNED
    assert blob.startswith(header.encode())  # the codec re-encodes byte for byte
    for identity in (IDENTITY, FileKeyIdentity(bytes.fromhex(entry["file_key"]))):
        assert _decrypt(blob, identity=identity) == expected
        assert _decrypt(blob, identity=identity, trusted_signers=[GOLDEN_SIGNER]) == expected
    with pytest.raises(SignatureError):
        _decrypt(blob, identity=IDENTITY, trusted_signers=[intruder[1]])


@pytest.mark.parametrize("entry", MANIFEST, ids=[m["file"] for m in MANIFEST])
def test_layout_matches_the_docs(entry) -> None:
    """Every field at the offset docs/stream.md gives, both signatures checked here with
    sm2.verify over messages rebuilt from the documented construction (hashlib's SM3)."""
    blob = (V2 / entry["file"]).read_bytes()
    assert blob[:4] == b"\x89VKS" and blob[4] == 0x02
    core = blob[:57]
    assert blob[49:57] == sm2.fingerprint(GOLDEN_SIGNER)
    header_sig = decode_signature_block(blob[57:130])
    assert header_sig is not None and blob[57] == len(header_sig)
    assert sm2.verify(GOLDEN_SIGNER, b"vaultkit stream v2 header" + core, header_sig)
    _, records, trailer = _split(blob)
    assert blob[130] == 1  # one recipient
    content_sig = decode_signature_block(trailer)
    assert content_sig is not None
    chunk_hashes = b"".join(hashlib.new("sm3", r).digest() for r in records)
    digest = hashlib.new("sm3", chunk_hashes).digest()
    message = b"vaultkit stream v2 content" + core + digest
    assert sm2.verify(GOLDEN_SIGNER, message, content_sig)
    doc = (Path(__file__).parents[2] / "docs" / "stream.md").read_text()
    for needle in ("0x02", "signer fingerprint", "vaultkit stream v2 content", "73"):
        assert needle in doc


# -- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, CS, 3 * CS, len(DATA), 40 * CS + 1])
@pytest.mark.parametrize("algorithm", ["SM4-GCM", "AES-256-GCM"])
def test_round_trip(kms, sm2_pair, signer, size, algorithm) -> None:
    data = pattern(size)
    blob = _encrypt(
        data, vault=kms, recipients=[sm2_pair[1]], signer=signer[0], algorithm=algorithm
    )
    assert read_header(io.BytesIO(blob).read).params.signed
    for kw in ({"vault": kms}, {"identity": sm2_pair[0]}):
        assert _decrypt(blob, **kw) == data  # readers without trusted signers accept it too
        assert _decrypt(blob, trusted_signers=[signer[1]], **kw) == data
        assert stream.verify(io.BytesIO(blob), trusted_signers=[signer[1]], **kw) == size


def test_file_objects_and_several_trusted_signers(kms, signer, intruder) -> None:
    sink = io.BytesIO()
    with stream.open(sink, "wb", vault=kms, chunk_size=CS, signer=signer[0]) as f:
        for i in range(0, len(DATA), 7):
            f.write(DATA[i : i + 7])
    reader = stream.open(
        io.BytesIO(sink.getvalue()), "rb", vault=kms, trusted_signers=[intruder[1], signer[1]]
    )
    assert reader.read() == DATA
    reader.close()


# -- trusted signers ---------------------------------------------------------------------------
def test_unsigned_and_foreign_streams_refused(kms, signer, intruder) -> None:
    unsigned = _encrypt(vault=kms)
    with pytest.raises(SignatureError, match="not signed"):
        stream.open(io.BytesIO(unsigned), "rb", vault=kms, trusted_signers=[signer[1]])
    foreign = _encrypt(vault=kms, signer=intruder[0])
    with pytest.raises(SignatureError, match="not trusted"):
        _decrypt(foreign, vault=kms, trusted_signers=[signer[1]])
    assert _decrypt(unsigned, vault=kms) == DATA  # no trusted signers: both forms are read


def test_forgery_by_anyone_holding_the_recipient_public_key(sm2_pair, signer, intruder) -> None:
    """The attack signatures prevent: with only the recipient's public key, build a stream
    that claims the trusted signer's fingerprint, signed with another key. Refused at open,
    before any plaintext."""
    signed = _encrypt(recipients=[sm2_pair[1]], signer=signer[0])
    claimed = Signer(intruder[0])
    claimed.fingerprint = sm2.fingerprint(signer[1])  # lie about who signed
    params = Params(
        read_header(io.BytesIO(signed).read).params.algorithm, CS, new_nonce_prefix(), 2
    )
    header, keys = build_header(params, bytes(32), [stream.SM2Recipient(sm2_pair[1])], claimed)
    sink = io.BytesIO()
    writer = stream.StreamWriter(sink, header, keys, close_fileobj=False, signer=claimed)
    writer.write(b"pay the attacker")
    writer.close()
    forged = sink.getvalue()
    assert _decrypt(forged, identity=sm2_pair[0]) == b"pay the attacker"  # unsigned readers
    with pytest.raises(SignatureError, match="header signature"):
        stream.open(io.BytesIO(forged), "rb", identity=sm2_pair[0], trusted_signers=[signer[1]])


def test_content_swapped_under_a_valid_signed_header_is_refused(sm2_pair, signer) -> None:
    """A recipient knows the file key: it re-seals other chunks under the same signed header
    (keeping the final chunk, and so its tag, unchanged). The content signature refuses it,
    and the final batch's plaintext is never released."""
    blob = _encrypt(recipients=[sm2_pair[1]], signer=signer[0])
    header_bytes, records, trailer = _split(blob)
    header = read_header(io.BytesIO(blob).read)
    _, keys = unlock(header, [stream.SM2Identity(sm2_pair[0])])
    cipher = ChunkCipher(header.params, keys, header.core)
    evil = cipher.seal(0, [b"E" * CS] * (len(records) - 1), False)
    cipher.close()
    assert evil != records[:-1]
    swapped = header_bytes + b"".join(evil) + records[-1] + trailer
    assert _decrypt(swapped, identity=sm2_pair[0]) != DATA  # GCM alone accepts it
    out = io.BytesIO()
    with pytest.raises(SignatureError, match="content signature"):
        stream.decrypt(io.BytesIO(swapped), out, identity=sm2_pair[0], trusted_signers=[signer[1]])
    assert not out.getvalue().endswith(b"tail")  # the final chunk was withheld
    # the same with the original trailer replaced by a signature of another key
    other = _encrypt(recipients=[sm2_pair[1]], signer=signer[0])
    with pytest.raises(SignatureError):
        _decrypt(blob[:-SIGNATURE_BLOCK_SIZE] + other[-SIGNATURE_BLOCK_SIZE:],
                 identity=sm2_pair[0], trusted_signers=[signer[1]])  # fmt: skip


def test_every_byte_flip_refused(kms, signer) -> None:
    blob = _encrypt(DATA[:150], vault=kms, signer=signer[0])
    for i in range(len(blob)):
        bad = bytearray(blob)
        bad[i] ^= 1 << (i % 8)
        with pytest.raises((DecryptionError, SignatureError)):
            _decrypt(bytes(bad), vault=kms, trusted_signers=[signer[1]])


def test_truncated_or_modified(kms, signer) -> None:
    blob = _encrypt(vault=kms, signer=signer[0])
    header, records, trailer = _split(blob)
    kw = {"vault": kms, "trusted_signers": [signer[1]]}
    for n in range(len(records)):  # cut at every chunk boundary: truncated
        with pytest.raises(StreamTruncatedError):
            stream.verify(io.BytesIO(header + b"".join(records[:n])), **kw)  # type: ignore[arg-type]
    with pytest.raises(StreamTruncatedError):  # the content signature block is missing
        stream.verify(io.BytesIO(blob[:-SIGNATURE_BLOCK_SIZE]), **kw)  # type: ignore[arg-type]
    for cut in (1, 10, 72):  # inside the signature block
        with pytest.raises((StreamTruncatedError, StreamModifiedError)):
            stream.verify(io.BytesIO(blob[:-cut]), **kw)  # type: ignore[arg-type]
    swapped = records[:]
    swapped[1], swapped[2] = swapped[2], swapped[1]
    with pytest.raises(StreamModifiedError):
        stream.verify(io.BytesIO(header + b"".join(swapped) + trailer), **kw)  # type: ignore[arg-type]
    with pytest.raises(StreamModifiedError):  # appended data
        stream.verify(io.BytesIO(blob + b"\x00"), **kw)  # type: ignore[arg-type]
    with pytest.raises(StreamModifiedError):  # a malformed signature block
        stream.verify(io.BytesIO(blob[:-73] + b"\x49" + blob[-72:]), vault=kms)  # length 73


def test_signature_block_codec() -> None:
    from vaultkit.stream._format import encode_signature_block

    sig = bytes(range(1, 71))  # 70 bytes
    block = encode_signature_block(sig)
    assert len(block) == SIGNATURE_BLOCK_SIZE and block[0] == 70 and block[71:] == b"\0\0"
    assert decode_signature_block(block) == sig
    for bad in (
        block[:-1] + b"\x01",  # non-zero padding
        b"\x00" + block[1:],  # length 0
        b"\x07" + block[1:],  # shorter than any DER signature
        b"\x49" + block[1:],  # 73: longer than the block
        block + b"\0",
        block[:-1],
    ):
        assert decode_signature_block(bad) is None
    with pytest.raises(ValueError):
        encode_signature_block(bytes(73))


def test_aborted_writer_leaves_a_truncated_stream(kms, signer) -> None:
    sink = io.BytesIO()
    with pytest.raises(RuntimeError):
        with stream.open(sink, "wb", vault=kms, chunk_size=CS, signer=signer[0]) as f:
            f.write(DATA)
            raise RuntimeError("backup failed")
    with pytest.raises(StreamTruncatedError):
        stream.verify(io.BytesIO(sink.getvalue()), vault=kms)


def test_rewrap_keeps_the_signatures(kms, sm2_pair, signer) -> None:
    blob = _encrypt(vault=kms, recipients=[sm2_pair[1]], signer=signer[0])
    kms.rotate()
    out = io.BytesIO()
    stream.rewrap(io.BytesIO(blob), out, vault=kms, recipients=[])
    rewrapped = out.getvalue()
    assert rewrapped != blob
    assert _decrypt(rewrapped, vault=kms, trusted_signers=[signer[1]]) == DATA
    with pytest.raises(DecryptionError):
        _decrypt(rewrapped, identity=sm2_pair[0])  # the SM2 recipient was dropped


# -- API hygiene -------------------------------------------------------------------------------
def test_arguments_checked(kms, signer) -> None:
    with pytest.raises(VaultkitTypeError):
        stream.open(io.BytesIO(), "rb", vault=kms, trusted_signers=[])
    with pytest.raises(VaultkitTypeError):
        stream.open(io.BytesIO(), "rb", vault=kms, trusted_signers=signer[1])  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        stream.open(io.BytesIO(), "rb", vault=kms, signer=signer[0])  # type: ignore[call-overload]
    with pytest.raises(VaultkitTypeError):
        stream.open(io.BytesIO(), "wb", vault=kms, trusted_signers=[signer[1]])  # type: ignore[call-overload]
    with pytest.raises(InvalidKeyError) as info:
        stream.open(io.BytesIO(), "wb", vault=kms, signer="zz" * 32)
    assert "zz" not in str(info.value)
    with pytest.raises(InvalidKeyError):
        stream.open(io.BytesIO(_encrypt(vault=kms)), "rb", vault=kms, trusted_signers=["04ab"])


def test_signer_key_hidden(signer) -> None:
    s = Signer(signer[0])
    assert signer[0] not in repr(s) and sm2.fingerprint(signer[1]).hex() in repr(s)
    with pytest.raises(TypeError):
        pickle.dumps(s)
