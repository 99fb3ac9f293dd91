"""The public surface of vaultkit is deliberate: changing it means changing a freeze test.

This file freezes the modules no area test freezes (``vaultkit``, ``vaultkit.errors``,
``vaultkit.vault``, ``vaultkit.keys.sm2``, ``vaultkit.cli``) and the ``Vault`` methods, and
checks that every public module is frozen somewhere, so a new public module cannot appear
unnoticed. The other freezes live with their areas (see ``FROZEN_ELSEWHERE``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import vaultkit

API = {
    "vaultkit": [
        "AuditEvent",
        "DecryptionError",
        "DomainTooSmallError",
        "InputFormatError",
        "KeyNotFoundError",
        "UnsupportedAlgorithmError",
        "Vault",
        "VaultkitError",
        "__version__",
    ],
    "vaultkit.errors": [
        "AccessDeniedError",
        "AuditError",
        "DecryptionError",
        "DomainTooSmallError",
        "InputFormatError",
        "InvalidKeyError",
        "KMSError",
        "KeyNotFoundError",
        "KeyStateError",
        "KeyStoreError",
        "PolicyError",
        "RateLimitedError",
        "RowBindingError",
        "SignatureError",
        "StreamModifiedError",
        "StreamTruncatedError",
        "UnboundValueError",
        "UnknownKindError",
        "UnsupportedAlgorithmError",
        "VaultkitError",
        "VaultkitTypeError",
        "masked",
    ],
    "vaultkit.vault": ["AuditEvent", "Vault"],
    "vaultkit.keys.sm2": [
        "decrypt",
        "encrypt",
        "fingerprint",
        "generate_keypair",
        "load_private_key",
        "load_public_hex",
        "load_public_key",
        "public_key_of",
        "save_private_key",
        "save_public_key",
        "sign",
        "verify",
    ],
    "vaultkit.cli": ["main"],
    "vaultkit.access": ["Grant", "OPERATIONS"],
    "vaultkit.audit": [
        "Alert",
        "AuditRecord",
        "LogBridge",
        "Trail",
        "Verification",
        "read",
        "verify",
    ],
}

# public modules whose __all__ is frozen by their own area's test (not repeated here)
FROZEN_ELSEWHERE = {
    "vaultkit.blindindex": "tests/tokens/test_public_api.py",
    "vaultkit.identifiers": "tests/tokens/test_public_api.py",
    "vaultkit.kinds": "tests/tokens/test_public_api.py",
    "vaultkit.masking": "tests/tokens/test_public_api.py",
    "vaultkit.policy": "tests/tokens/test_public_api.py",
    "vaultkit.tokens": "tests/tokens/test_public_api.py",
    "vaultkit.hazmat": "tests/hazmat/test_public_api.py",
    "vaultkit.hazmat.aead": "tests/hazmat/test_public_api.py",
    "vaultkit.hazmat.ff1": "tests/hazmat/test_public_api.py",
    "vaultkit.hazmat.flat": "tests/hazmat/test_public_api.py",
    "vaultkit.hazmat.hashes": "tests/hazmat/test_public_api.py",
    "vaultkit.hazmat.sm4": "tests/hazmat/test_public_api.py",
    "vaultkit.keys": "tests/keys/test_keyring.py",
    "vaultkit.envelope": "tests/keys/test_keyring.py",
    "vaultkit.stream": "tests/stream/test_api.py",
    "vaultkit.reencrypt": "tests/reencrypt/test_api.py",
    "vaultkit.scan": "tests/reencrypt/test_api.py",
    "vaultkit.ext.sqlalchemy": "tests/ext/test_types.py",
    "vaultkit.ext.spark": "tests/ext/spark/test_api.py",
    "vaultkit.columns": "tests/columns/test_columns.py",
    "vaultkit.catalog": "tests/catalog/test_catalog.py",
    "vaultkit.remote": "tests/service/test_api.py",
    "vaultkit.service": "tests/service/test_api.py",
    "vaultkit.service.app": "tests/service/test_api.py",
    "vaultkit.service.auth": "tests/service/test_api.py",
    "vaultkit.service.limits": "tests/service/test_api.py",
    "vaultkit.service.metrics": "tests/service/test_api.py",
    "vaultkit.service.models": "tests/service/test_api.py",
    "vaultkit.service.server": "tests/service/test_api.py",
    "vaultkit.service.schema": "tests/service/test_api.py",
}

# public modules deliberately not frozen, and why
NOT_FROZEN = {
    "vaultkit.ext": "namespace package for the integrations (empty __all__)",
    "vaultkit.hazmat.bindings": "backend selection interface, still changing with native/",
}

ROOT = Path(__file__).resolve().parents[1]


def _public_modules() -> set[str]:
    names = {"vaultkit"}
    for info in pkgutil.walk_packages(vaultkit.__path__, "vaultkit."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.add(info.name)
    return names


@pytest.mark.parametrize("module", sorted(API))
def test_all_is_frozen(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == API[module]
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ names {name!r}, which it does not define"


def test_every_public_module_is_frozen_somewhere() -> None:
    covered = set(API) | set(FROZEN_ELSEWHERE) | set(NOT_FROZEN)
    assert _public_modules() == covered
    for module, test in FROZEN_ELSEWHERE.items():
        text = (ROOT / test).read_text(encoding="utf-8")
        short = module.rsplit(".", 1)[-1]
        assert "__all__" in text and (module in text or short in text), (module, test)


def test_every_public_module_declares_all() -> None:
    for module in sorted(_public_modules()):
        assert "__all__" in vars(importlib.import_module(module)), module


VAULT_METHODS = {
    "blind_index": "key_name, value, *, context, bits, version, kind",
    "blind_index_candidates": "key_name, value, *, context, bits, kind",
    "blind_index_many": "key_name, values, *, context, bits, version, kind",
    "close": "",
    "decrypt": "ciphertext, *, context, force",
    "decrypt_masked": "ciphertext, *, context, kind, force",
    "decrypt_masked_many": "ciphertexts, *, context, contexts, kind, force",
    "decrypt_many": "ciphertexts, *, context, contexts, force",
    "decrypt_text": "ciphertext, *, context, force",
    "decrypt_text_many": "ciphertexts, *, context, contexts, force",
    "detokenize": "key_name, token, *, format, context, version",
    "detokenize_many": "key_name, tokens, *, format, context, version",
    "detokenize_masked": "key_name, token, *, format, context, kind, version",
    "detokenize_masked_many": "key_name, tokens, *, format, context, kind, version",
    "encrypt": "key_name, plaintext, *, context",
    "encrypt_many": "key_name, plaintexts, *, context, contexts",
    "encrypt_text": "key_name, plaintext, *, context",
    "encrypt_text_many": "key_name, plaintexts, *, context, contexts",
    "retired_index_candidates": "key_name, value, *, context, bits, kind",
    "retired_token_candidates": "key_name, values, *, format, context",
    "tokenize": "key_name, value, *, format, context, version",
    "tokenize_many": "key_name, values, *, format, context, version",
}


def _shape(fn: object) -> str:
    out: list[str] = []
    for p in list(inspect.signature(fn).parameters.values())[1:]:  # type: ignore[arg-type]
        if p.kind is p.KEYWORD_ONLY and "*" not in out:
            out.append("*")
        out.append(p.name)
    return ", ".join(out)


def test_vault_methods_are_frozen() -> None:
    from vaultkit import Vault

    methods = {
        name: _shape(fn)
        for name, fn in vars(Vault).items()
        if not name.startswith("_") and inspect.isfunction(fn)
    }
    assert methods == VAULT_METHODS
    assert isinstance(vars(Vault)["keys"], property)
    assert isinstance(vars(Vault)["principal"], property)
    assert _shape(Vault.__init__) == "keys, *, principal, audit, cache_ttl, cache_uses"
