"""The public surface is deliberate, and nothing that holds a key shows it or pickles."""

from __future__ import annotations

import io
import pickle

import pytest

from vaultkit import stream


def test_public_api_frozen() -> None:
    assert sorted(stream.__all__) == [
        "DEFAULT_CHUNK_SIZE",
        "Identity",
        "Recipient",
        "SM2Identity",
        "SM2Recipient",
        "StreamReader",
        "StreamWriter",
        "decrypt",
        "encrypt",
        "open",
        "rewrap",
        "verify",
    ]


def test_no_secrets_in_repr_or_pickle(kms, sm2_pair) -> None:
    private, public = sm2_pair
    identity = stream.SM2Identity(private)
    sink = io.BytesIO()
    writer = stream.open(sink, "wb", vault=kms, recipients=[public])
    writer.write(b"plaintext")
    writer.close()
    reader = stream.open(io.BytesIO(sink.getvalue()), "rb", identity=private)
    for obj in (identity, writer, reader, reader._cipher):
        assert private not in repr(obj) and "plaintext" not in repr(obj)
        with pytest.raises(TypeError):
            pickle.dumps(obj)
    assert reader.read() == b"plaintext"
    reader.close()
    assert "SM2Recipient(fingerprint=" in repr(stream.SM2Recipient(public))


def test_write_after_the_final_chunk_is_refused(kms) -> None:
    sink = io.BytesIO()
    writer = stream.open(sink, "wb", vault=kms)
    writer.seal_chunks([b"abc"], last=True)
    with pytest.raises(ValueError):
        writer.write(b"would be lost")  # was buffered, then silently dropped by close()
    writer.close()
    assert stream.open(io.BytesIO(sink.getvalue()), "rb", vault=kms).read() == b"abc"
