"""The stream API and its commands run under the Vault's principal: streams are the key
``vaultkit.stream`` (encrypt to write; decrypt to read, verify and rewrap)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from tests.cli._run import PASSPHRASE, env_for, fails, ok, vk
from vaultkit import Vault, stream
from vaultkit.errors import AccessDeniedError
from vaultkit.keys import KeyRing, LocalKMS

DATA = b"backup of the customers table\n" * 100


def test_stream_api_is_held_to_the_vaults_grants(ring: KeyRing) -> None:
    ring.grant("backup", keys="vaultkit.stream", operations={"encrypt"})
    ring.grant("restore", keys="*", operations={"decrypt"})
    events: list[Any] = []
    with Vault(ring, principal="backup", audit=events.append) as backup:
        sealed = io.BytesIO()
        stream.encrypt(io.BytesIO(DATA), sealed, vault=backup)
        for call in (
            lambda: stream.decrypt(io.BytesIO(sealed.getvalue()), io.BytesIO(), vault=backup),
            lambda: stream.verify(io.BytesIO(sealed.getvalue()), vault=backup),
            lambda: stream.rewrap(io.BytesIO(sealed.getvalue()), io.BytesIO(), vault=backup),
        ):
            with pytest.raises(AccessDeniedError) as info:
                call()
            assert (info.value.operation, info.value.key) == ("decrypt", "vaultkit.stream")
    assert [(e.operation, e.outcome, e.principal) for e in events] == [
        ("stream_encrypt", "ok", "backup"),
        ("stream_decrypt", "denied", "backup"),
        ("stream_decrypt", "denied", "backup"),
        ("stream_decrypt", "denied", "backup"),
    ]
    with Vault(ring, principal="restore") as restore:
        out = io.BytesIO()
        stream.decrypt(io.BytesIO(sealed.getvalue()), out, vault=restore)
        assert out.getvalue() == DATA
        with pytest.raises(AccessDeniedError):
            stream.encrypt(io.BytesIO(DATA), io.BytesIO(), vault=restore)
    # the ring itself (code holding it holds every key) is not held to grants
    plain = io.BytesIO()
    stream.decrypt(io.BytesIO(sealed.getvalue()), plain, vault=ring)
    assert plain.getvalue() == DATA


def test_stream_commands_run_under_the_principal(tmp_path: Path) -> None:
    ring_path = tmp_path / "ring.json"
    with KeyRing.create(ring_path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**10)) as ring:
        ring.grant("backup", keys="vaultkit.stream", operations={"encrypt"})
    env = env_for(ring_path)
    src, dst = tmp_path / "in.bin", tmp_path / "out.vks"
    src.write_bytes(DATA)
    fails(vk("encrypt-file", str(src), str(dst), env=env), "principal")
    ok(vk("encrypt-file", str(src), str(dst), "--principal", "backup", env=env))
    back = tmp_path / "back.bin"
    fails(
        vk("decrypt-file", str(dst), str(back), "--principal", "backup", env=env),
        "may not decrypt on key 'vaultkit.stream'",
    )
    assert not back.exists()
    fails(vk("verify-file", str(dst), "--principal", "backup", env=env), "access denied")
