"""vaultkit encrypt-file / decrypt-file / rewrap-file / sm2 keygen, in a subprocess (real
stdin/stdout pipes) and through click's runner."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from vaultkit import stream
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.stream._format import read_header

PASS = "correct horse battery staple"


def _run(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    full_env = {k: v for k, v in os.environ.items() if k != "VAULTKIT_KEYRING"}
    full_env.update({"VAULTKIT_PASSPHRASE": PASS, **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "vaultkit", *args],
        input=stdin,
        capture_output=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("keys")
    r = _run("sm2", "keygen", str(d / "alice"))
    assert r.returncode == 0, r.stderr
    _run("sm2", "keygen", str(d / "bob"))
    ring = d / "ring.json"
    with KeyRing.create(ring, LocalKMS(passphrase=PASS, scrypt_n=2**10)):
        pass
    return {
        "alice_key": d / "alice.key",
        "alice_pub": d / "alice.pub",
        "bob_key": d / "bob.key",
        "bob_pub": d / "bob.pub",
        "ring": ring,
    }


def test_keygen_files(keys, tmp_path) -> None:
    assert stat.S_IMODE(keys["alice_key"].stat().st_mode) == 0o600
    assert "PUBLIC KEY" in keys["alice_pub"].read_text()
    again = _run("sm2", "keygen", str(keys["alice_key"].with_suffix("")))
    assert again.returncode != 0 and b"exists" in again.stderr


def test_pipe_round_trip_stdin_stdout(keys) -> None:
    data = os.urandom(3 * 65536 + 99)
    enc = _run(
        "encrypt-file",
        "-",
        "-",
        "--recipient",
        str(keys["alice_pub"]),
        "--keyring",
        str(keys["ring"]),
        stdin=data,
    )
    assert enc.returncode == 0, enc.stderr
    for opener in (["--identity", str(keys["alice_key"])], ["--keyring", str(keys["ring"])]):
        dec = _run("decrypt-file", "-", "-", *opener, stdin=enc.stdout)
        assert dec.returncode == 0, dec.stderr
        assert dec.stdout == data
    wrong = _run("decrypt-file", "-", "-", "--identity", str(keys["bob_key"]), stdin=enc.stdout)
    assert wrong.returncode == 2 and wrong.stdout == b""
    assert wrong.stderr.decode().strip() == "error: decryption failed"


def test_decrypt_to_file_is_all_or_nothing(keys, tmp_path) -> None:
    data = os.urandom(20 * 65536 + 5)  # more than one batch of chunks
    src, enc, out = tmp_path / "plain", tmp_path / "x.vkb", tmp_path / "restored"
    src.write_bytes(data)
    r = _run(
        "encrypt-file",
        str(src),
        str(enc),
        "--recipient",
        str(keys["alice_pub"]),
        "--algorithm",
        "aes-256-gcm",
        "--chunk-size",
        "4096",
    )
    assert r.returncode == 0, r.stderr
    blob = enc.read_bytes()
    bad = tmp_path / "bad.vkb"
    bad.write_bytes(blob[:-1])  # truncated in the final chunk: everything before it verifies
    r = _run("decrypt-file", str(bad), str(out), "--identity", str(keys["alice_key"]))
    assert r.returncode == 2  # cut inside the final chunk: its tag fails, as for a change
    assert r.stderr.decode().strip() == (
        "error: decryption failed: the stream was modified (it does not authenticate)"
    )
    assert b"Traceback" not in r.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.vkb", "plain", "x.vkb"]
    out.write_bytes(b"yesterday's restore")  # a failed restore leaves an existing file alone
    r = _run("decrypt-file", str(bad), str(out), "--identity", str(keys["alice_key"]))
    assert r.returncode == 2 and out.read_bytes() == b"yesterday's restore"
    assert len(list(tmp_path.iterdir())) == 4
    # to stdout: stops at the first bad batch, non-zero exit, only verified plaintext written
    r = _run("decrypt-file", str(bad), "-", "--identity", str(keys["alice_key"]))
    assert r.returncode == 2 and data.startswith(r.stdout) and len(r.stdout) < len(data)
    r = _run("decrypt-file", str(enc), str(out), "--identity", str(keys["alice_key"]))
    assert r.returncode == 0 and out.read_bytes() == data


def test_rewrap_file_after_kek_rotation(keys, tmp_path) -> None:
    ring_path = tmp_path / "ring.json"
    with KeyRing.create(ring_path, LocalKMS(passphrase=PASS, scrypt_n=2**10)):
        pass
    data = os.urandom(100_000)
    (tmp_path / "p").write_bytes(data)
    enc = tmp_path / "p.vkb"
    env = {"VAULTKIT_KEYRING": str(ring_path)}
    r = _run(
        "encrypt-file", str(tmp_path / "p"), str(enc), "--recipient", str(keys["bob_pub"]), env=env
    )
    assert r.returncode == 0, r.stderr
    before = enc.read_bytes()
    with KeyRing.open(ring_path, LocalKMS(passphrase=PASS)) as ring:
        assert ring.rotate_kek() == 2
    r = _run("rewrap-file", str(enc), env=env)
    assert r.returncode == 0, r.stderr
    after = enc.read_bytes()
    h1 = read_header(io.BytesIO(before).read)
    h2 = read_header(io.BytesIO(after).read)
    assert before[len(h1.encode()) :] == after[len(h2.encode()) :]  # body bytes unchanged
    assert h2.stanzas[0].key_id[:4] == (2).to_bytes(4, "big")
    assert h2.stanzas[1] == h1.stanzas[1]  # SM2 stanza kept
    r = _run("decrypt-file", str(enc), "-", env=env)
    assert r.returncode == 0 and r.stdout == data
    # new SM2 recipient set: alice instead of bob
    r = _run("rewrap-file", str(enc), "--recipient", str(keys["alice_pub"]), env=env)
    assert r.returncode == 0, r.stderr
    assert _run("decrypt-file", str(enc), "-", "--identity", str(keys["alice_key"])).stdout == data
    r = _run("decrypt-file", str(enc), "-", "--identity", str(keys["bob_key"]))
    assert r.returncode == 2
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_usage_errors(keys, tmp_path) -> None:
    r = _run("encrypt-file", "-", "-", stdin=b"x")
    assert r.returncode == 2 and b"--recipient" in r.stderr
    r = _run("decrypt-file", "-", "-", stdin=b"x")
    assert r.returncode == 2
    r = _run("decrypt-file", "-", "-", "--identity", str(keys["alice_key"]), stdin=b"junk")
    assert r.returncode == 2 and r.stderr.decode().strip() == "error: decryption failed"


def test_library_reads_cli_output(keys, tmp_path) -> None:
    from vaultkit.keys import sm2

    data = b"backup" * 1000
    r = _run("encrypt-file", "-", "-", "--recipient", str(keys["alice_pub"]), stdin=data)
    out = io.BytesIO()
    stream.decrypt(io.BytesIO(r.stdout), out, identity=sm2.load_private_key(keys["alice_key"]))
    assert out.getvalue() == data


def test_decrypt_to_a_device_writes_through(keys, tmp_path) -> None:
    enc = tmp_path / "x.vkb"
    r = _run("encrypt-file", "-", str(enc), "--recipient", str(keys["alice_pub"]), stdin=b"x" * 10)
    assert r.returncode == 0, r.stderr
    r = _run("decrypt-file", str(enc), os.devnull, "--identity", str(keys["alice_key"]))
    assert r.returncode == 0, r.stderr
    assert not Path(os.devnull).is_file()  # not replaced by a regular file


# -- signed streams, verify-file, --json --------------------------------------------------------
def test_sign_and_trusted_signer(keys, tmp_path) -> None:
    """alice signs (operator key), bob is the recipient; readers trust alice only."""
    data = os.urandom(5 * 65536 + 7)
    src, enc, out = tmp_path / "dump.sql", tmp_path / "dump.vkb", tmp_path / "restored.sql"
    src.write_bytes(data)
    r = _run(
        "encrypt-file", str(src), str(enc),
        "--recipient", str(keys["bob_pub"]), "--sign", str(keys["alice_key"]),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert read_header(io.BytesIO(enc.read_bytes()).read).params.signed
    bob = ["--identity", str(keys["bob_key"])]
    r = _run("decrypt-file", str(enc), str(out), *bob, "--trusted-signer", str(keys["alice_pub"]))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == data
    r = _run("verify-file", str(enc), *bob, "--trusted-signer", str(keys["alice_pub"]))
    assert r.returncode == 0 and b"authentic" in r.stderr and r.stdout == b""
    # trusted: bob only (not the signer), then alice and bob (repeatable)
    r = _run("decrypt-file", str(enc), "-", *bob, "--trusted-signer", str(keys["bob_pub"]))
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr.decode().strip() == "error: the stream is signed by a key that is not trusted"
    trust_both = [
        "--trusted-signer",
        str(keys["bob_pub"]),
        "--trusted-signer",
        str(keys["alice_pub"]),
    ]
    assert _run("decrypt-file", str(enc), "-", *bob, *trust_both).stdout == data
    # an unsigned stream is refused by a reader that requires a signer
    plain = tmp_path / "plain.vkb"
    assert (
        _run("encrypt-file", str(src), str(plain), "--recipient", str(keys["bob_pub"])).returncode
        == 0
    )
    r = _run("verify-file", str(plain), *bob, "--trusted-signer", str(keys["alice_pub"]))
    assert r.returncode == 1 and b"not signed" in r.stderr
    assert _run("verify-file", str(plain), *bob).returncode == 0


def test_verify_file_says_truncated_or_modified_and_writes_nothing(keys, tmp_path) -> None:
    data = os.urandom(4 * 4096 + 10)
    enc = tmp_path / "x.vkb"
    r = _run(
        "encrypt-file", "-", str(enc), "--recipient", str(keys["alice_pub"]),
        "--chunk-size", "4096", stdin=data,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    blob = enc.read_bytes()
    header = len(read_header(io.BytesIO(blob).read).encode())
    alice = ["--identity", str(keys["alice_key"])]
    cases = {
        "truncated": blob[: header + 2 * (4096 + 16)],  # cut at a chunk boundary
        "modified": blob[:header] + bytes([blob[header] ^ 1]) + blob[header + 1 :],
    }
    for said, damaged in cases.items():
        bad = tmp_path / f"{said}.vkb"
        bad.write_bytes(damaged)
        before = sorted(p.name for p in tmp_path.iterdir())
        r = _run("verify-file", str(bad), *alice)
        assert r.returncode == 1 and r.stdout == b""
        line = r.stderr.decode()
        assert line.count("\n") == 1 and f"{bad}: NOT authentic: decryption failed: " in line
        assert said in line
        assert sorted(p.name for p in tmp_path.iterdir()) == before
        r = _run("verify-file", "-", *alice, stdin=damaged)
        assert r.returncode == 1 and said in r.stderr.decode()
    r = _run("verify-file", str(enc), *alice)
    assert r.returncode == 0 and f"{len(data)} bytes".encode() in r.stderr
    r = _run("verify-file", str(enc), "--identity", str(keys["bob_key"]))  # wrong key
    assert r.returncode == 1 and r.stderr.decode().strip().endswith("decryption failed")
    assert _run("verify-file", str(enc)).returncode == 2  # no key given: usage error


def test_encrypt_file_json(keys, tmp_path) -> None:
    import json

    from vaultkit.keys import sm2

    enc = tmp_path / "j.vkb"
    r = _run(
        "encrypt-file", "-", str(enc), "--keyring", str(keys["ring"]),
        "--recipient", str(keys["alice_pub"]), "--sign", str(keys["bob_key"]), "--json",
        stdin=b"x" * 1000,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)  # exactly one JSON object on stdout
    alice_fp = sm2.fingerprint(sm2.load_public_key(keys["alice_pub"])).hex()
    bob_fp = sm2.fingerprint(sm2.load_public_key(keys["bob_pub"])).hex()
    assert record == {
        "command": "encrypt-file",
        "output": str(enc),
        "plaintext_bytes": 1000,
        "algorithm": "SM4-GCM",
        "chunk_size": 65536,
        "keyring_recipient": True,
        "sm2_recipients": [alice_fp],
        "signed_by": bob_fp,
    }
    r = _run("encrypt-file", "-", "-", "--recipient", str(keys["alice_pub"]), "--json")
    assert r.returncode == 2 and b"--json" in r.stderr and r.stdout == b""


def test_help_says_to_discard_partial_stdout() -> None:
    r = _run("decrypt-file", "--help")
    text = " ".join(r.stdout.decode().split())
    assert "must be discarded" in text and "--trusted-signer" in text
    r = _run("verify-file", "--help")
    assert r.returncode == 0 and "without writing plaintext" in " ".join(r.stdout.decode().split())
