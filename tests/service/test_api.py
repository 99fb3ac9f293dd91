"""The key service's public surface is deliberate: ``__all__`` of vaultkit.remote and of the
vaultkit.service modules, and RemoteVault has the Vault's methods with the same arguments."""

from __future__ import annotations

import importlib
import inspect

import pytest

from tests.test_public_api import VAULT_METHODS, _shape

API = {
    "vaultkit.remote": ["RemoteKeys", "RemoteVault"],
    "vaultkit.service": ["KeyService", "create_app", "serve"],
    "vaultkit.service.app": [
        "API_VERSION",
        "Gate",
        "KeyService",
        "create_app",
        "openapi",
        "status_of",
    ],
    "vaultkit.service.auth": ["PEER_CN", "TlsPeerProtocol", "bearer_token", "peer_common_name"],
    "vaultkit.service.limits": [
        "MAX_BYTES",
        "MAX_ITEMS",
        "BodyTooLarge",
        "TooManyItems",
        "check_items",
        "limited_receive",
    ],
    "vaultkit.service.metrics": ["BUCKETS", "Metrics"],
    "vaultkit.service.server": ["check_bind", "parse_bind", "serve"],
    "vaultkit.service.schema": ["main"],
}


@pytest.mark.parametrize("module", sorted(API))
def test_all_is_frozen(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(API[module])
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ names {name!r}, which it does not define"


def test_models_all_names_only_models() -> None:
    from pydantic import BaseModel

    from vaultkit.service import models

    for name in models.__all__:
        obj = getattr(models, name)
        assert callable(obj) or isinstance(obj, type), name
        if isinstance(obj, type):
            assert issubclass(obj, BaseModel), name


def test_remote_vault_has_the_vault_methods() -> None:
    from vaultkit.remote import RemoteVault

    methods = {
        name: _shape(fn)
        for name, fn in vars(RemoteVault).items()
        if not name.startswith("_") and inspect.isfunction(fn) and name != "from_env"
    }
    vault_methods = {k: v for k, v in VAULT_METHODS.items() if k in methods}
    assert vault_methods == VAULT_METHODS  # every Vault method, same arguments
    assert set(methods) == set(VAULT_METHODS)
    assert isinstance(vars(RemoteVault)["keys"], property)
