"""How the golden field ciphertexts in this directory were made (run once, never again).

The files are frozen: every later vaultkit must decrypt them (tests/envelope/
test_envelope_golden.py). This script refuses to overwrite them; it is kept to document how
they were produced: ``python tests/golden/envelope/make_golden.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vaultkit import Vault
from vaultkit.envelope._format import to_text
from vaultkit.keys import Algorithm, KeyRing, LocalKMS

HERE = Path(__file__).parent
PASSPHRASE = "vaultkit golden v1 passphrase"


def _ctx_json(ctx: dict[str, str | bytes]) -> dict[str, object]:
    return {k: ({"hex": v.hex()} if isinstance(v, bytes) else v) for k, v in ctx.items()}


def main() -> None:
    ring_path = HERE / "keyring.json"
    if ring_path.exists():
        sys.exit("golden files exist: they are frozen, do not regenerate them")
    (HERE / "passphrase.txt").write_text(PASSPHRASE + "\n")
    ring = KeyRing.create(ring_path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**14))
    ring.create_key("customers.id_no")
    ring.create_key("customers.name", Algorithm.AES_256_GCM)
    cases: list[dict[str, object]] = []

    def add(vault: Vault, key: str, plaintext: bytes, ctx: dict, *, batch: bool = False) -> None:
        if batch:
            ct = vault.encrypt_many(key, [plaintext], context=ctx)[0]
        else:
            ct = vault.encrypt(key, plaintext, context=ctx)
        cases.append(
            {
                "key": key,
                "context": _ctx_json(ctx),
                "plaintext_hex": plaintext.hex(),
                "binary_hex": ct.hex(),
                "text": to_text(ct),
                "made_by": "encrypt_many" if batch else "encrypt",
            }
        )

    row = {"table": "customers", "column": "id_no", "row": "42"}
    with Vault(ring) as v:
        add(v, "customers.id_no", b"110105199001011234", row)
        add(v, "customers.id_no", b"", {})
        add(v, "customers.id_no", b"\x00\xff" * 40, {"table": "t", "row": b"\x00\x01"}, batch=True)
        add(v, "customers.name", "张三".encode(), {"table": "customers", "column": "name"})
        add(v, "customers.name", b"x" * 33, {"k": ""}, batch=True)
    ring.rotate_key("customers.id_no")
    ring.rotate_kek()
    with Vault(ring) as v:
        add(v, "customers.id_no", b"110105199001011234", row)
    (HERE / "vectors.json").write_text(json.dumps({"format": 1, "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    main()
