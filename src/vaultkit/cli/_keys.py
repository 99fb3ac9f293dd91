"""``vaultkit init``, ``vaultkit key ...`` and ``vaultkit kek rotate``: the key ring lifecycle."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from vaultkit.cli._common import (
    ENV_DB,
    CliError,
    confirm,
    console,
    emit_json,
    json_option,
    keyring_option,
    make_kms,
    open_ring,
    print_table,
    yes_option,
)
from vaultkit.keys import Algorithm

__all__ = ["init", "kek", "key"]

_ALGORITHMS = [a.label for a in Algorithm]


@click.command()
@keyring_option
@click.option(
    "--kms",
    "kms_kind",
    type=click.Choice(["local", "pkcs11"]),
    default="local",
    show_default=True,
    help="Where the KEK lives.",
)
@click.option(
    "--module",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    envvar="VAULTKIT_PKCS11_MODULE",
    help="PKCS#11 module (shared library), with --kms pkcs11 (or $VAULTKIT_PKCS11_MODULE).",
)
@click.option("--token-label", default=None, help="PKCS#11 token label, with --kms pkcs11.")
def init(keyring: Path, kms_kind: str, module: str | None, token_label: str | None) -> None:
    """Create a new, empty key ring.

    The passphrase (local KMS) comes from VAULTKIT_PASSPHRASE or a prompt; the PKCS#11 user PIN
    from VAULTKIT_PKCS11_PIN or a prompt. Never from the command line.
    """
    from vaultkit.keys import KeyRing

    if keyring.exists():
        raise CliError(f"{keyring} already exists; refusing to overwrite a key ring")
    if kms_kind == "pkcs11" and (module is None or token_label is None):
        raise click.UsageError("--kms pkcs11 needs --module and --token-label")
    kms = make_kms(kms_kind, module=module, token_label=token_label, new=True)
    ring = KeyRing.create(keyring, kms)
    ring.close()
    console.print(f"created key ring {keyring} ({kms_kind} KMS)", markup=False)


@click.group()
def key() -> None:
    """Create, list, rotate, retire and destroy data keys (DEKs)."""


def _key_record(meta: Any) -> dict[str, Any]:
    return {
        "name": meta.name,
        "key_id": meta.key_id,
        "algorithm": str(meta.algorithm),
        "primary": next((v.version for v in meta.versions if v.state.value == "primary"), None),
        "versions": [
            {
                "version": v.version,
                "state": v.state.value,
                "kek_version": v.kek_version,
                "created": str(v.created),
            }
            for v in meta.versions
        ],
    }


@key.command("create")
@keyring_option
@click.argument("name")
@click.option(
    "--algorithm",
    "-a",
    type=click.Choice(_ALGORITHMS, case_sensitive=False),
    default="SM4-GCM",
    show_default=True,
)
def key_create(keyring: Path, name: str, algorithm: str) -> None:
    """Create data key NAME (version 1, primary)."""
    with open_ring(keyring) as ring:
        ring.create_key(name, algorithm=algorithm)
    console.print(
        f"created key {name} ({Algorithm.parse(algorithm)}), version 1 primary", markup=False
    )


@key.command("list")
@keyring_option
@json_option
def key_list(keyring: Path, as_json: bool) -> None:
    """List data keys (metadata only, never material)."""
    with open_ring(keyring) as ring:
        records = [_key_record(m) for m in ring.keys()]
    if as_json:
        emit_json(records)
        return
    print_table(
        f"Keys in {keyring}",
        ["name", "id", "algorithm", "primary", "versions"],
        [
            (
                r["name"],
                r["key_id"],
                r["algorithm"],
                r["primary"],
                ", ".join(f"v{v['version']} {v['state']}" for v in r["versions"]),
            )
            for r in records
        ],
    )


@key.command("show")
@keyring_option
@click.argument("name")
@json_option
def key_show(keyring: Path, name: str, as_json: bool) -> None:
    """Show the versions of data key NAME."""
    from vaultkit.errors import KeyNotFoundError

    with open_ring(keyring) as ring:
        found = [m for m in ring.keys() if m.name == name]
    if not found:
        raise KeyNotFoundError(f"no key named {name!r}")
    record = _key_record(found[0])
    if as_json:
        emit_json(record)
        return
    print_table(
        f"{record['name']} (id {record['key_id']}, {record['algorithm']})",
        ["version", "state", "KEK version", "created"],
        [(v["version"], v["state"], v["kek_version"], v["created"]) for v in record["versions"]],
    )


@key.command("rotate")
@keyring_option
@click.argument("name")
def key_rotate(keyring: Path, name: str) -> None:
    """Make a new primary version of NAME; older versions still decrypt."""
    with open_ring(keyring) as ring:
        version = ring.rotate_key(name)
    console.print(
        f"{name}: version {version} is now primary "
        "(run `vaultkit reencrypt` to migrate stored values)",
        markup=False,
    )


@key.command("retire")
@keyring_option
@click.argument("name")
@click.option("--version", "version", type=int, required=True)
@click.option(
    "--db",
    "db_urls",
    multiple=True,
    envvar=ENV_DB,
    help=f"Database URL to check first: refuse while any value is under the version (repeatable; "
    f"or ${ENV_DB}, which keeps a password out of argv).",
)
@yes_option
def key_retire(keyring: Path, name: str, version: int, db_urls: tuple[str, ...], yes: bool) -> None:
    """Retire VERSION of NAME: it then refuses to decrypt unless forced."""
    from vaultkit.cli._reencrypt import check_database

    with open_ring(keyring) as ring:
        check_database(ring, name, version, db_urls, action="retire")
        confirm(f"Retire {name} version {version}?", yes=yes)
        ring.retire_version(name, version)
    console.print(f"{name}: version {version} retired", markup=False)


@key.command("destroy")
@keyring_option
@click.argument("name")
@click.option("--version", "version", type=int, required=True)
@click.option(
    "--db",
    "db_urls",
    multiple=True,
    envvar=ENV_DB,
    help=f"Database URL to check first: refuse while any value is under the version (repeatable; "
    f"or ${ENV_DB}).",
)
@yes_option
def key_destroy(
    keyring: Path, name: str, version: int, db_urls: tuple[str, ...], yes: bool
) -> None:
    """Erase the material of VERSION of NAME (crypto-shredding): irreversible."""
    from vaultkit.cli._reencrypt import check_database

    with open_ring(keyring) as ring:
        check_database(ring, name, version, db_urls, action="destroy")
        confirm(
            f"Destroy {name} version {version}? Values under it become unreadable forever.", yes=yes
        )
        ring.destroy_version(name, version)
    console.print(f"{name}: version {version} destroyed", markup=False)


@click.group()
def kek() -> None:
    """Key-encryption key (KEK) operations."""


@kek.command("rotate")
@keyring_option
@click.option(
    "--new-passphrase",
    "new_passphrase",
    is_flag=True,
    help="Derive the new KEK from a new passphrase (VAULTKIT_NEW_PASSPHRASE or prompt).",
)
@json_option
def kek_rotate(keyring: Path, new_passphrase: bool, as_json: bool) -> None:
    """Create a new KEK version and rewrap every DEK under it (never touches data)."""
    from vaultkit.cli._common import new_passphrase_value

    with open_ring(keyring) as ring:
        if new_passphrase:
            from vaultkit.keys import LocalKMS

            if not isinstance(ring.kms, LocalKMS):
                raise CliError("--new-passphrase is for passphrase key rings")
            ring.kms.set_next_secret(passphrase=new_passphrase_value())
        start = time.perf_counter()
        version = ring.rotate_kek()
        elapsed = time.perf_counter() - start
        count = len(ring.keys())
    if as_json:
        emit_json({"kek_version": version, "keys": count, "seconds": round(elapsed, 4)})
        return
    console.print(
        f"KEK version {version} is current; {count} keys rewrapped in {elapsed * 1000:.1f} ms"
    )
