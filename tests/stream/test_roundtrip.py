"""Round trips through encrypt/decrypt, the file-like objects and real pipes."""

from __future__ import annotations

import io
import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaultkit import stream
from vaultkit.stream._seal import batch_count

CS = 64  # small chunks: every boundary case stays cheap
BATCH = batch_count(CS, parallel=True) * CS
SERIAL = batch_count(CS, parallel=False) * CS
SIZES = [0, 1, CS - 1, CS, CS + 1, 5 * CS + 3, 7 * CS, SERIAL - 1, SERIAL, SERIAL + 1]
SIZES += [BATCH - 1, BATCH, BATCH + 1, 2 * BATCH + CS]


def _encrypt(data: bytes, **kw: object) -> bytes:
    out = io.BytesIO()
    assert stream.encrypt(io.BytesIO(data), out, **kw) == len(data)  # type: ignore[arg-type]
    return out.getvalue()


def _decrypt(blob: bytes, **kw: object) -> bytes:
    out = io.BytesIO()
    assert stream.decrypt(io.BytesIO(blob), out, **kw) == len(out.getvalue())  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.parametrize("algorithm", ["SM4-GCM", "AES-256-GCM"])
@pytest.mark.parametrize("size", SIZES)
def test_round_trip_sizes(kms, size, algorithm) -> None:
    data = os.urandom(size)
    blob = _encrypt(data, vault=kms, chunk_size=CS, algorithm=algorithm)
    full = size // CS
    # header + full chunks + a final chunk that is always shorter than a chunk
    assert len(blob) == len(_header(blob)) + (full + 1) * 16 + size
    assert _decrypt(blob, vault=kms) == data


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 3 * 65536 + 5])
def test_round_trip_default_chunk(kms, size) -> None:
    data = os.urandom(size)
    assert _decrypt(_encrypt(data, vault=kms), vault=kms) == data


def _header(blob: bytes) -> bytes:
    from vaultkit.stream._format import read_header

    src = io.BytesIO(blob)
    return read_header(src.read).encode()


def test_writer_and_reader_in_pieces(kms) -> None:
    data = os.urandom(3 * BATCH + 17)
    sink = io.BytesIO()
    with stream.open(sink, "wb", vault=kms, chunk_size=CS) as w:
        pos = 0
        for step in [1, 5, 63, 64, 65, 1000, BATCH, 3]:
            w.write(data[pos : pos + step])
            pos += step
        w.write(memoryview(data)[pos:])
    assert not sink.closed  # a file object passed in stays open
    blob = sink.getvalue()
    with stream.open(io.BytesIO(blob), "rb", vault=kms) as r:
        got = r.read(1) + r.read(CS) + r.read1(10) + r.read(0)
        buf = bytearray(333)
        n = r.readinto(buf)
        got += bytes(buf[:n]) + r.read()
        assert r.read() == b""
    assert got == data


def test_io_compatibility(tmp_path, kms) -> None:
    path = tmp_path / "x.vkb"
    data = b"line one\nline two\n" * 1000
    with stream.open(path, "wb", vault=kms, chunk_size=CS) as w:
        assert w.writable() and not w.readable()
        w.write(data)
    assert w.closed
    with stream.open(path, "rb", vault=kms) as r:
        assert r.readable() and not r.writable() and not r.seekable()
        assert list(io.TextIOWrapper(r, encoding="ascii")) == data.decode().splitlines(True)
    with stream.open(str(path), "rb", vault=kms) as r, io.BufferedReader(r) as b:
        assert b.read() == data


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=2000),
    chunk_size=st.integers(16, 300),
    cuts=st.lists(st.integers(0, 2000), max_size=8),
    algorithm=st.sampled_from(["SM4-GCM", "AES-256-GCM"]),
)
def test_property_round_trip_any_split(kms, data, chunk_size, cuts, algorithm) -> None:
    sink = io.BytesIO()
    with stream.open(sink, "wb", vault=kms, chunk_size=chunk_size, algorithm=algorithm) as w:
        pos = 0
        for cut in sorted(cuts):
            w.write(data[pos:cut])
            pos = max(pos, cut)
        w.write(data[pos:])
    blob = sink.getvalue()
    assert _decrypt(blob, vault=kms) == data
    with stream.open(io.BytesIO(blob), "rb", vault=kms) as r:
        out = b""
        for cut in cuts:
            out += r.read(cut % 97)
        out += r.read()
    assert out == data


class _Pipe:
    """A real OS pipe (non-seekable) fed or drained by a thread."""

    @staticmethod
    def reader_of(data: bytes) -> io.BufferedReader:
        rfd, wfd = os.pipe()

        def feed() -> None:
            with os.fdopen(wfd, "wb") as w:
                w.write(data)

        threading.Thread(target=feed, daemon=True).start()
        return os.fdopen(rfd, "rb")

    @staticmethod
    def writer_to(sink: list[bytes]) -> tuple[io.BufferedWriter, threading.Thread]:
        rfd, wfd = os.pipe()

        def drain() -> None:
            with os.fdopen(rfd, "rb") as r:
                sink.append(r.read())

        t = threading.Thread(target=drain, daemon=True)
        t.start()
        return os.fdopen(wfd, "wb"), t


@pytest.mark.parametrize("raw", [False, True])
def test_pipes_both_directions(kms, raw) -> None:
    data = os.urandom(5 * 65536 + 11)
    sink: list[bytes] = []
    out, t = _Pipe.writer_to(sink)
    buffered = _Pipe.reader_of(data)
    # unbuffered: reads return whatever the pipe holds (short reads)
    src = buffered.raw if raw else buffered
    with pytest.raises(io.UnsupportedOperation):
        out.seek(0)
    stream.encrypt(src, out, vault=kms)  # type: ignore[arg-type]
    out.close()
    t.join()
    plain: list[bytes] = []
    out2, t2 = _Pipe.writer_to(plain)
    buffered2 = _Pipe.reader_of(sink[0])
    stream.decrypt(buffered2.raw if raw else buffered2, out2, vault=kms)  # type: ignore[arg-type]
    out2.close()
    t2.join()
    assert plain[0] == data


def test_multiple_recipients_each_decrypt(kms, sm2_pair, other_sm2_pair) -> None:
    data = os.urandom(1000)
    blob = _encrypt(data, vault=kms, recipients=[sm2_pair[1], other_sm2_pair[1]], chunk_size=CS)
    assert _decrypt(blob, vault=kms) == data
    assert _decrypt(blob, identity=sm2_pair[0]) == data
    assert _decrypt(blob, identity=stream.SM2Identity(other_sm2_pair[0])) == data


def test_sm2_only_writer_cannot_read(kms, sm2_pair) -> None:
    blob = _encrypt(b"secret backup", recipients=[stream.SM2Recipient(sm2_pair[1])])
    from vaultkit.errors import DecryptionError

    with pytest.raises(DecryptionError):
        _decrypt(blob, vault=kms)
    assert _decrypt(blob, identity=sm2_pair[0]) == b"secret backup"


@pytest.mark.parametrize("algorithm", ["SM4-GCM", "AES-256-GCM"])
def test_backends_agree_and_parallel_path(kms, backend, algorithm) -> None:
    """Each backend decrypts what the other wrote; 40 chunks of 64 KiB take the two-thread
    path on the native backend."""
    from vaultkit.hazmat import bindings

    data = os.urandom(40 * 65536 + 1)
    blob = _encrypt(data, vault=kms, algorithm=algorithm)
    for other in bindings.available():
        with bindings.use(other):
            assert _decrypt(blob, vault=kms) == data


def test_failed_writer_leaves_a_stream_no_reader_accepts(kms) -> None:
    from vaultkit.errors import DecryptionError

    sink = io.BytesIO()
    with pytest.raises(RuntimeError):
        with stream.open(sink, "wb", vault=kms, chunk_size=CS) as w:
            w.write(os.urandom(3 * CS))
            raise RuntimeError("the dump failed")
    assert w.closed
    with pytest.raises(DecryptionError):
        _decrypt(sink.getvalue(), vault=kms)

    class Failing(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
            raise OSError("disk error")

    sink = io.BytesIO()
    with pytest.raises(OSError):
        stream.encrypt(Failing(), sink, vault=kms)
    with pytest.raises(DecryptionError):
        _decrypt(sink.getvalue(), vault=kms)


class _Trickle(io.RawIOBase):
    """A pipe-like source: every read returns between 1 and n bytes, chosen by hypothesis."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data, self._pos, self._sizes, self._i = data, 0, sizes or [1], 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        n = min(len(b), self._sizes[self._i % len(self._sizes)], len(self._data) - self._pos)
        self._i += 1
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=3000),
    chunk_size=st.integers(16, 500),
    sizes=st.lists(st.integers(1, 700), max_size=10),
)
def test_property_short_reads_both_directions(kms, data, chunk_size, sizes) -> None:
    out = io.BytesIO()
    stream.encrypt(_Trickle(data, sizes), out, vault=kms, chunk_size=chunk_size)
    plain = io.BytesIO()
    stream.decrypt(_Trickle(out.getvalue(), sizes[::-1]), plain, vault=kms)
    assert plain.getvalue() == data


class _Dribble(io.RawIOBase):
    """A raw sink that accepts at most 7 bytes per write (as sockets and raw files may)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[no-untyped-def]
        taken = bytes(b[:7])
        self.data += taken
        return len(taken)


def test_partial_writes(kms) -> None:
    data = os.urandom(1000)
    sink = _Dribble()
    stream.encrypt(io.BytesIO(data), sink, vault=kms, chunk_size=100)
    plain = _Dribble()
    stream.decrypt(io.BytesIO(bytes(sink.data)), plain, vault=kms)
    assert bytes(plain.data) == data
    rewrapped = _Dribble()
    stream.rewrap(io.BytesIO(bytes(sink.data)), rewrapped, vault=kms)
    assert _decrypt(bytes(rewrapped.data), vault=kms) == data
