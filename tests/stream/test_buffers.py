"""The AES-256-GCM stream path copies no chunk it can avoid (issue 16, item 5): the source is
read with ``readinto`` into one buffer reused for every chunk, and the records (encrypting) or
the plaintext (decrypting) go to the sink as views of one reused buffer. Before, every chunk
was read into a new bytes object, copied for the cipher and sealed into another (0.7x raw
``AESGCM`` on 64 KiB chunks). Checked by the identity of the buffers the file objects are
handed (deterministic), not by a time. cryptography before 46 has no ``encrypt_into``: there
the source buffer is still reused, and each record or plaintext is a new bytes object.

And the streaming CLI loads none of the heavy modules it does not use (SQLAlchemy, rich, the
demo), and a passphrase key ring's scrypt (32 MiB at N=2^15 r=8) runs before the stream and the
ciphers are imported: its peak memory is the KDF's plus the interpreter, click and the key ring's
modules, not the sum of everything (see docs/stream.md).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import IO, Any, cast

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.stream.stream_helpers import MemoryKMS
from vaultkit import stream

CHUNK = 65536


def _outputs(count: int) -> int:
    """Distinct buffers ``count`` records or plaintexts arrive in: one reused buffer, or with
    cryptography before 46 a new bytes object each."""
    return 1 if hasattr(AESGCM, "encrypt_into") else count


class _Source(io.RawIOBase):
    """Serves ``data`` through ``readinto`` and notes every buffer it was given."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self.buffers: list[Any] = []

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        with memoryview(b) as view:
            self.buffers.append(view.obj)
            n = min(len(view), len(self._data) - self._pos, 5000 if self._pos % 3 else CHUNK)
            view[:n] = self._data[self._pos : self._pos + n]  # short reads, like a pipe
        self._pos += n
        return n


class _Sink(io.RawIOBase):
    """Keeps a copy of what is written and notes the object behind every buffer written."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.buffers: list[Any] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        with memoryview(b) as view:
            self.buffers.append(view.obj)
            self.data += view
            return len(view)


def _io(obj: io.RawIOBase) -> IO[bytes]:
    return cast("IO[bytes]", obj)


def _distinct(objects: list[Any]) -> int:
    seen: list[Any] = []
    for obj in objects:
        if not any(obj is s for s in seen):
            seen.append(obj)
    return len(seen)


def test_encrypt_reads_into_and_seals_from_reused_buffers(kms: MemoryKMS) -> None:
    data = os.urandom(20 * CHUNK + 123)
    source, sink = _Source(data), _Sink()
    stream.encrypt(_io(source), _io(sink), vault=kms, algorithm="AES-256-GCM")
    assert len(source.buffers) >= 21  # every chunk came through readinto
    assert _distinct(source.buffers) == 1
    records = sink.buffers[1:]  # after the header
    assert len(records) == 21
    assert _distinct(records) == _outputs(21)
    plain = io.BytesIO()
    stream.decrypt(io.BytesIO(bytes(sink.data)), plain, vault=kms)
    assert plain.getvalue() == data


def test_decrypt_reads_into_and_opens_into_reused_buffers(kms: MemoryKMS) -> None:
    data = os.urandom(20 * CHUNK + 123)
    sealed = io.BytesIO()
    stream.encrypt(io.BytesIO(data), sealed, vault=kms, algorithm="AES-256-GCM")
    source, sink = _Source(sealed.getvalue()), _Sink()
    assert stream.decrypt(_io(source), _io(sink), vault=kms) == len(data)
    assert bytes(sink.data) == data
    # the header is read with read() (io.RawIOBase hands readinto a new buffer each time);
    # the records, 64 KiB + 16 bytes each, go into one buffer
    records = [b for b in source.buffers if len(b) == CHUNK + 16]
    assert len(records) >= 21 and _distinct(records) == 1
    assert len(sink.buffers) == 21 and _distinct(sink.buffers) == _outputs(21)


def test_the_writers_write_path_reuses_its_record_buffer(kms: MemoryKMS) -> None:
    data = os.urandom(10 * CHUNK + 7)
    sink = _Sink()
    with stream.open(_io(sink), "wb", vault=kms, algorithm="AES-256-GCM") as w:
        w.write(data[:100])  # buffered, then whole chunks straight from the caller's data
        w.write(data[100:])
    assert len(sink.buffers) == 12 and _distinct(sink.buffers[1:]) == _outputs(11)
    assert stream.open(io.BytesIO(bytes(sink.data)), "rb", vault=kms).read() == data


def test_an_in_memory_source_is_read_in_place(kms: MemoryKMS) -> None:
    """A BytesIO is sealed from views of its content; its position moves as if read."""
    data = os.urandom(3 * CHUNK + 5)
    src = io.BytesIO(b"skip" + data)
    src.seek(4)
    sealed = io.BytesIO()
    assert stream.encrypt(src, sealed, vault=kms, algorithm="AES-256-GCM") == len(data)
    assert src.tell() == len(data) + 4
    src.write(b"more")  # the BytesIO is not held
    sealed.seek(0)
    assert stream.open(sealed, "rb", vault=kms).read() == data


def _run(argv: list[str], env: dict[str, str], stdin: bytes) -> tuple[bytes, set[str]]:
    """stdout and the modules loaded (``-X importtime`` lists each on stderr)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vaultkit", *argv],
        env=env,
        input=stdin,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = proc.stderr.decode()
    return proc.stdout, set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)", text, re.M))


def test_streaming_cli_loads_no_heavy_module(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTKIT_")}
    env["VAULTKIT_PASSPHRASE"] = "buffers: correct horse battery staple 9!"
    ring = str(tmp_path / "ring.json")
    _run(["init", "--keyring", ring], env, b"")
    data = os.urandom(3 * CHUNK + 1)
    enc = ["encrypt-file", "--keyring", ring, "--algorithm", "AES-256-GCM", "-", "-"]
    sealed, loaded_enc = _run(enc, env, data)
    plain, loaded_dec = _run(["decrypt-file", "--keyring", ring, "-", "-"], env, sealed)
    assert plain == data
    for loaded in (loaded_enc, loaded_dec):
        assert {"vaultkit.stream._io", "vaultkit.keys"} <= loaded  # the probe works
        heavy = {m for m in loaded if m.split(".")[0] in ("sqlalchemy", "rich")}
        heavy |= {"vaultkit.cli._demo", "vaultkit.vault"} & loaded
        assert heavy == set()


_KDF_PROBE = """
import hashlib, sys
_scrypt = hashlib.scrypt
CIPHERS = ("cryptography", "_cffi_backend", "vaultkit.hazmat.bindings", "vaultkit.keys.sm2")
def scrypt(*args, **kwargs):
    loaded = sorted(m for m in sys.modules if m.split(".")[:2] == ["vaultkit", "stream"])
    print("stream modules at the KDF:", loaded, file=sys.stderr)
    ciphers = sorted(m for m in sys.modules if m.startswith(CIPHERS))
    print("cipher modules at the KDF:", ciphers, file=sys.stderr)
    return _scrypt(*args, **kwargs)
hashlib.scrypt = scrypt
from vaultkit.cli import main
sys.argv = ["vaultkit", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("signed", [False, True])
def test_the_streaming_cli_derives_the_kek_before_loading_the_stream(
    tmp_path: Path, signed: bool
) -> None:
    """The key ring's scrypt (32 MiB) runs before ``vaultkit.stream`` and the ciphers
    (cryptography, the native core, SM2) are imported, so their memory and the KDF's are not
    resident together (peak RSS, issue 16): opening a key ring imports the ciphers only once
    its KEK has unwrapped the ring key (``vaultkit.keys`` exports on first use), and the
    commands load their SM2 key files (``--sign``, ``--trusted-signer``, the backup
    procedure of docs/backups.md) after the ring is open."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTKIT_")}
    env["VAULTKIT_PASSPHRASE"] = "buffers: correct horse battery staple 9!"
    ring = str(tmp_path / "ring.json")
    _run(["init", "--keyring", ring], env, b"")
    sign: list[str] = []
    trust: list[str] = []
    if signed:
        _run(["sm2", "keygen", str(tmp_path / "op")], env, b"")
        sign = ["--sign", str(tmp_path / "op.key")]
        trust = ["--trusted-signer", str(tmp_path / "op.pub")]
    data = os.urandom(CHUNK + 5)
    runs = []
    for argv, stdin in (
        (["encrypt-file", "--keyring", ring, *sign, "-", "-"], data),
        (["decrypt-file", "--keyring", ring, *trust, "-", "-"], None),
    ):
        proc = subprocess.run(
            [sys.executable, "-c", _KDF_PROBE, *argv],
            env=env,
            input=stdin if stdin is not None else runs[-1].stdout,
            capture_output=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(proc)
        assert b"stream modules at the KDF: []" in proc.stderr, proc.stderr[-2000:]
        assert b"cipher modules at the KDF: []" in proc.stderr, proc.stderr[-2000:]
    assert runs[-1].stdout == data


def test_the_cli_default_chunk_size_is_the_streams() -> None:
    from vaultkit.cli import _stream as cli_stream

    assert cli_stream._DEFAULT_CHUNK_SIZE == stream.DEFAULT_CHUNK_SIZE
