"""Every modification of a stream fails with a DecryptionError, and never yields plaintext
from the modified part: truncation, dropped/reordered/duplicated/spliced chunks, appended data,
any flipped header byte, flipped body bytes, a header from another file, wrong keys and
identities. The error says "truncated" (StreamTruncatedError) for a stream that ends early and
"modified" (StreamModifiedError) for chunks that do not authenticate, and nothing else."""

from __future__ import annotations

import io
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.stream.stream_helpers import MemoryKMS
from vaultkit import stream
from vaultkit.errors import DecryptionError, StreamModifiedError, StreamTruncatedError
from vaultkit.stream._format import read_header

CS = 64
RECORD = CS + 16
DATA = os.urandom(6 * CS + 10)  # 6 full chunks and a final one of 10 bytes


def _encrypt(data: bytes = DATA, **kw: object) -> bytes:
    out = io.BytesIO()
    stream.encrypt(io.BytesIO(data), out, chunk_size=CS, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def _split(blob: bytes) -> tuple[bytes, list[bytes]]:
    header = read_header(io.BytesIO(blob).read).encode()
    body = blob[len(header) :]
    return header, [body[i : i + RECORD] for i in range(0, len(body), RECORD)]


MESSAGES = {
    DecryptionError: "decryption failed",
    StreamTruncatedError: (
        "decryption failed: the stream is truncated (it ends before its final chunk)"
    ),
    StreamModifiedError: "decryption failed: the stream was modified (it does not authenticate)",
}


def _fails(blob: bytes, kind: type[DecryptionError] | None = None, **kw: object) -> None:
    """Decrypting fails, through both the function and the reader, and whatever plaintext came
    out before the failure is a prefix of the true plaintext made of whole verified chunks.
    The error is one of three fixed messages (nothing else about the stream), ``kind`` when
    given; ``stream.verify`` fails the same way."""
    out = io.BytesIO()
    with pytest.raises(DecryptionError) as info:
        stream.decrypt(io.BytesIO(blob), out, **kw)  # type: ignore[arg-type]
    assert str(info.value) == MESSAGES[type(info.value)]  # opaque beyond truncated/modified
    assert info.value.__context__ is None and info.value.__cause__ is None
    if kind is not None:
        assert type(info.value) is kind
    assert DATA.startswith(out.getvalue()) and len(out.getvalue()) % CS == 0
    with pytest.raises(type(info.value)):
        with stream.open(io.BytesIO(blob), "rb", **kw) as r:  # type: ignore[call-overload]
            r.read()
    with pytest.raises(type(info.value)):
        stream.verify(io.BytesIO(blob), **kw)  # type: ignore[arg-type]


@pytest.fixture
def blob(kms) -> bytes:
    return _encrypt(vault=kms)


def test_layout(blob) -> None:
    _, records = _split(blob)
    assert len(records) == 7 and all(len(r) == RECORD for r in records[:-1])
    assert len(records[-1]) == 10 + 16


def test_truncation_at_every_chunk_boundary_and_inside(kms, blob) -> None:
    header, records = _split(blob)
    for n in range(len(records)):  # keep the header and the first n chunks
        _fails(header + b"".join(records[:n]), StreamTruncatedError, vault=kms)
    for cut in range(1, len(header)):
        _fails(blob[:cut], StreamTruncatedError, vault=kms)
    for cut in (1, 15, 16, 17, RECORD - 1):  # inside a chunk and inside the final chunk
        _fails(blob[: len(header) + RECORD + cut], vault=kms)
        _fails(blob[:-cut], vault=kms)
    _fails(b"", StreamTruncatedError, vault=kms)


def test_dropping_the_last_chunk(kms, blob) -> None:
    header, records = _split(blob)
    _fails(header + b"".join(records[:-1]), StreamTruncatedError, vault=kms)
    # a stream whose plaintext ends on a chunk boundary has an empty final chunk
    aligned = _encrypt(DATA[: 3 * CS], vault=kms)
    h2, r2 = _split(aligned)
    assert len(r2[-1]) == 16
    _fails(h2 + b"".join(r2[:-1]), StreamTruncatedError, vault=kms)


def test_reordering_duplicating_dropping(kms, blob) -> None:
    header, records = _split(blob)
    swapped = records[:]
    swapped[1], swapped[2] = swapped[2], swapped[1]
    _fails(header + b"".join(swapped), StreamModifiedError, vault=kms)
    _fails(header + b"".join(records[:3] + records[2:]), StreamModifiedError, vault=kms)
    _fails(header + b"".join(records[:2] + records[3:]), StreamModifiedError, vault=kms)
    _fails(header + b"".join([records[0], *records]), StreamModifiedError, vault=kms)


def test_appending(kms, blob) -> None:
    _, records = _split(blob)
    for tail in (b"\x00", os.urandom(16), os.urandom(RECORD), records[0], records[-1]):
        _fails(blob + tail, StreamModifiedError, vault=kms)
    aligned = _encrypt(DATA[: 2 * CS], vault=kms)
    _fails(aligned + os.urandom(RECORD), StreamModifiedError, vault=kms)


def test_every_header_byte_flipped(kms, sm2_pair) -> None:
    # two recipients: a flip in the stanza that is not used must fail too (header MAC)
    blob = _encrypt(vault=kms, recipients=[sm2_pair[1]])
    header, _ = _split(blob)
    for i in range(len(header)):
        for bit in (0x01, 0x80):
            bad = bytearray(blob)
            bad[i] ^= bit
            _fails(bytes(bad), vault=kms)


def test_body_bytes_flipped(kms, blob) -> None:
    header, _ = _split(blob)
    for i in range(len(header), len(blob)):  # every body byte of this small stream
        bad = bytearray(blob)
        bad[i] ^= 1 << (i % 8)
        _fails(bytes(bad), StreamModifiedError, vault=kms)


def test_body_bytes_flipped_large_sampled(kms) -> None:
    data = os.urandom(40 * 65536 + 123)
    out = io.BytesIO()
    stream.encrypt(io.BytesIO(data), out, vault=kms)
    blob = out.getvalue()
    header, _ = _split(blob)
    rng = random.Random(8)
    for i in [len(header), len(blob) - 1, *rng.sample(range(len(header), len(blob)), 20)]:
        bad = bytearray(blob)
        bad[i] ^= 0x04
        with pytest.raises(DecryptionError):
            stream.decrypt(io.BytesIO(bytes(bad)), io.BytesIO(), vault=kms)


def test_header_or_chunks_from_another_file(kms, blob) -> None:
    other = _encrypt(vault=kms)  # same plaintext, same recipient, another file key
    h1, r1 = _split(blob)
    h2, r2 = _split(other)
    _fails(h2 + b"".join(r1), vault=kms)
    _fails(h1 + b"".join(r2), vault=kms)
    _fails(h1 + b"".join(r1[:3] + r2[3:]), vault=kms)  # splice at a chunk boundary
    _fails(h1 + b"".join(r1[:-1] + r2[-1:]), vault=kms)


def test_recipient_section_from_another_file(kms, blob) -> None:
    other = _encrypt(vault=kms)
    h1, r1 = _split(blob)
    h2, _ = _split(other)
    # core (49 bytes) of this file, recipients + MAC of the other
    _fails(h1[:49] + h2[49:] + b"".join(r1), vault=kms)


def test_wrong_keys(kms, sm2_pair, other_sm2_pair) -> None:
    blob = _encrypt(vault=kms, recipients=[sm2_pair[1]])
    _fails(blob, vault=MemoryKMS())  # same KEK id, another KEK
    _fails(blob, vault=MemoryKMS("memory:other"))
    _fails(blob, identity=other_sm2_pair[0])
    only_sm2 = _encrypt(recipients=[sm2_pair[1]])
    _fails(only_sm2, vault=kms)
    _fails(only_sm2, identity=other_sm2_pair[0])


def test_wrong_identity_fails_at_open(sm2_pair, other_sm2_pair) -> None:
    blob = _encrypt(recipients=[sm2_pair[1]])
    with pytest.raises(DecryptionError):
        stream.open(io.BytesIO(blob), "rb", identity=other_sm2_pair[0])


def test_failed_reader_stays_failed(kms, blob) -> None:
    header, records = _split(blob)
    bad = header + b"".join(records[:-1]) + bytes(len(records[-1]))
    with stream.open(io.BytesIO(bad), "rb", vault=kms) as r:
        with pytest.raises(DecryptionError):
            r.read()
        with pytest.raises(DecryptionError):
            r.read(1)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=600),
    chunk_size=st.integers(16, 200),
    where=st.floats(0, 1, exclude_max=True),
    bit=st.integers(0, 7),
)
def test_property_any_bit_flip_rejected(kms, data, chunk_size, where, bit) -> None:
    out = io.BytesIO()
    stream.encrypt(io.BytesIO(data), out, vault=kms, chunk_size=chunk_size)
    bad = bytearray(out.getvalue())
    bad[int(where * len(bad))] ^= 1 << bit
    with pytest.raises(DecryptionError):
        stream.decrypt(io.BytesIO(bytes(bad)), io.BytesIO(), vault=kms)
