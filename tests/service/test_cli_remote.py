"""``vaultkit reencrypt`` and ``vaultkit scan`` through the key service (``--server`` /
``VAULTKIT_SERVER``), in a process that has no key ring and no key secret."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.cli._run import ok, vk
from tests.ext._support import sample
from tests.ext.models import Base, Customer
from tests.service.conftest import Principals, Server, open_ring
from vaultkit import envelope
from vaultkit.ext.sqlalchemy import configure
from vaultkit.remote import RemoteVault


def _keyless_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULTKIT_")}
    return {**env, **extra}


def test_reencrypt_and_scan_through_the_service(
    server: Server, principals: Principals, ring_path: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    engine = create_engine(url, hide_parameters=True)
    token = principals.tokens["app"]
    with RemoteVault(server.url, token=token) as remote:
        configure(remote, Base, engine=engine)
        Base.metadata.create_all(engine)
        with Session(engine) as s:
            s.add_all(Customer(**sample(i)) for i in range(20))
            s.commit()
        operator = open_ring(ring_path)
        operator.rotate_key("customers.name")
        operator.close()
        env = _keyless_env(VAULTKIT_SERVER=server.url, VAULTKIT_TOKEN=token)
        out = ok(
            vk(
                "reencrypt",
                "--db",
                url,
                "--table",
                "vk_customers",
                "--column",
                "name",
                "--json",
                env=env,
            )
        )
        assert json.loads(out)["complete"] is True
        with engine.connect() as conn:
            names = conn.exec_driver_sql("SELECT name FROM vk_customers").scalars().all()
        assert {envelope.inspect(bytes(n)).version for n in names} == {2}
        with Session(engine) as s:
            got = s.scalars(select(Customer.name).order_by(Customer.id)).all()
        assert got == [sample(i)["name"] for i in range(20)]
        report = vk(
            "scan",
            "--db",
            url,
            "--format",
            "json",
            "--server",
            server.url,
            env=_keyless_env(VAULTKIT_TOKEN=token),
        )
        assert report.returncode in (0, 1), report.stderr
        assert "customers.name" in report.stdout
    engine.dispose()


CLIENT = """
import gc, sys
from vaultkit.keys import DataKey, KeyRing
from vaultkit.remote import RemoteVault

with RemoteVault.from_env() as vault:
    ctx = {"table": "t"}
    assert vault.decrypt_text(vault.encrypt("c.name", "张三", context=ctx), context=ctx) == "张三"
    token = vault.tokenize("c.card", "6222020200112233446", format="card", context=ctx)
    assert vault.detokenize("c.card", token, format="card", context=ctx) == "6222020200112233446"
    assert len(vault.blind_index("c.bidx", "x", context=ctx, bits=32)) == 4
    assert vault.keys.primary_key("c.name").version == 1
found = [o for o in gc.get_objects() if isinstance(o, DataKey | KeyRing)]
print("key objects:", len(found))
"""


def test_no_key_material_in_the_client_process(server: Server, principals: Principals) -> None:
    """A process using only RemoteVault holds no DataKey or KeyRing object, and needs no key
    ring or key secret in its environment."""
    import subprocess
    import sys

    env = _keyless_env(VAULTKIT_SERVER=server.url, VAULTKIT_TOKEN=principals.tokens["app"])
    proc = subprocess.run(
        [sys.executable, "-c", CLIENT], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "key objects: 0"
