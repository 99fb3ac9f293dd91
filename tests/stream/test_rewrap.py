"""rewrap: a new recipient section, the same chunks byte for byte."""

from __future__ import annotations

import io
import os

import pytest

from vaultkit import stream
from vaultkit.errors import DecryptionError, VaultkitTypeError
from vaultkit.stream._format import read_header

DATA = os.urandom(5 * 1000 + 7)


def _encrypt(**kw: object) -> bytes:
    out = io.BytesIO()
    stream.encrypt(io.BytesIO(DATA), out, chunk_size=1000, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def _rewrap(blob: bytes, **kw: object) -> bytes:
    out = io.BytesIO()
    stream.rewrap(io.BytesIO(blob), out, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def _body(blob: bytes) -> bytes:
    return blob[len(read_header(io.BytesIO(blob).read).encode()) :]


def _decrypt(blob: bytes, **kw: object) -> bytes:
    out = io.BytesIO()
    stream.decrypt(io.BytesIO(blob), out, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def test_rewrap_after_kek_rotation(kms, sm2_pair) -> None:
    blob = _encrypt(vault=kms, recipients=[sm2_pair[1]])
    kms.rotate()
    new = _rewrap(blob, vault=kms)
    assert _body(new) == _body(blob)
    assert new[:49] == blob[:49]  # same core
    header = read_header(io.BytesIO(new).read)
    assert header.stanzas[0].key_id[:4] == (2).to_bytes(4, "big")  # current KEK version
    assert header.stanzas[1] == read_header(io.BytesIO(blob).read).stanzas[1]  # SM2 kept
    kms.drop(1)  # the old KEK version is gone: only the rewrapped file opens
    assert _decrypt(new, vault=kms) == DATA
    assert _decrypt(new, identity=sm2_pair[0]) == DATA
    with pytest.raises(DecryptionError):
        _decrypt(blob, vault=kms)


def test_rewrap_replaces_sm2_recipients(kms, sm2_pair, other_sm2_pair) -> None:
    blob = _encrypt(recipients=[sm2_pair[1]])
    new = _rewrap(blob, identity=sm2_pair[0], recipients=[other_sm2_pair[1]])
    assert _body(new) == _body(blob)
    assert _decrypt(new, identity=other_sm2_pair[0]) == DATA
    with pytest.raises(DecryptionError):
        _decrypt(new, identity=sm2_pair[0])
    both = _rewrap(new, identity=other_sm2_pair[0], vault=kms)  # add the KEK, keep SM2
    assert _decrypt(both, vault=kms) == DATA
    assert _decrypt(both, identity=other_sm2_pair[0]) == DATA


def test_rewrap_needs_the_key_and_a_recipient(kms, sm2_pair, other_sm2_pair) -> None:
    blob = _encrypt(recipients=[sm2_pair[1]])
    with pytest.raises(DecryptionError):
        _rewrap(blob, identity=other_sm2_pair[0], recipients=[other_sm2_pair[1]])
    with pytest.raises(VaultkitTypeError):
        _rewrap(blob, identity=sm2_pair[0], recipients=[])
    with pytest.raises(DecryptionError):  # a tampered header is not rewrapped
        bad = bytearray(blob)
        bad[60] ^= 1
        _rewrap(bytes(bad), identity=sm2_pair[0])
