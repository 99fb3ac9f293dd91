"""``--server URL`` (or ``VAULTKIT_SERVER``): commands that run Vault operations (``reencrypt``)
or name keys (``scan``) through the key service instead of opening the key ring, so the machine
running them holds no key material. The caller authenticates with ``VAULTKIT_TOKEN`` or the
client certificate ``VAULTKIT_CLIENT_CERT``; ``VAULTKIT_SERVER_CA`` is the CA bundle the
service's certificate is checked against (docs/keyservice.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from vaultkit.cli._common import ENV_KEYRING
from vaultkit.cli._credentials import open_vault

__all__ = ["ENV_SERVER", "open_any_vault", "server_option"]

ENV_SERVER = "VAULTKIT_SERVER"
F = TypeVar("F", bound=Callable[..., object])


def server_option(f: F) -> F:
    """``--server URL`` (or ``VAULTKIT_SERVER``), passed as ``server: str | None``."""
    return click.option(
        "--server",
        "server",
        envvar=ENV_SERVER,
        default=None,
        help=f"Key service URL (or ${ENV_SERVER}): use it instead of a key ring "
        "(token from $VAULTKIT_TOKEN).",
    )(f)


@contextmanager
def open_any_vault(keyring: Path | None, server: str | None) -> Iterator[Any]:
    """A :class:`~vaultkit.remote.RemoteVault` for ``server``, else the Vault of ``keyring``."""
    if server:
        try:
            from vaultkit.remote import RemoteVault
        except ImportError:
            raise click.UsageError(
                "--server needs the server extra: pip install 'vaultkit[server]'"
            ) from None
        with RemoteVault.from_env(server) as remote:
            yield remote
        return
    if keyring is None:
        raise click.UsageError(f"missing option '--keyring' (or set {ENV_KEYRING}) or '--server'")
    with open_vault(keyring) as vault:
        yield vault
