"""Process targets for the cross-process key custody tests (importable by spawned children)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CTX = {"table": "t", "column": "c", "row": "1"}
PASSPHRASE = "correct horse battery staple"


def encrypt_loop(source: Any, out: str, stop: Any, started: Any) -> None:
    """Encrypt until ``stop`` is set, appending each ciphertext (hex) to ``out``.

    ``source`` is a key store path (the child opens the ring itself: spawn) or a Vault the
    parent made (fork: the child uses the inherited object, its locks and cache reset).
    """
    from vaultkit import Vault
    from vaultkit.keys import KeyRing, LocalKMS

    if isinstance(source, str):
        vault = Vault(KeyRing.open(source, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**10)))
    else:
        vault = source
    with Path(out).open("a", encoding="ascii") as f:
        i = 0
        while not stop.is_set():
            ct = vault.encrypt("k", f"value {i}".encode(), context=CTX)
            f.write(ct.hex() + "\n")
            f.flush()  # written: from here on it must stay decryptable
            i += 1
            if i == 20:
                started.set()
    vault.close()
