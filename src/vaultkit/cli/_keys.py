"""``vaultkit init`` and ``vaultkit key ...``: the key ring and its data keys' lifecycle (create,
list, show, rotate, retire, destroy, activate). The KEKs that open the ring are
:mod:`vaultkit.cli._kek`.

Every state-changing command takes ``--json`` and then prints one JSON object on stdout.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import click

from vaultkit.cli._common import (
    ENV_DB,
    CliError,
    confirm,
    console,
    done,
    emit_json,
    json_option,
    keyring_option,
    print_table,
    yes_option,
)
from vaultkit.cli._credentials import (
    make_kms,
    open_ring,
    passphrase,
    pin_value,
    sign_option,
    store_signing,
)
from vaultkit.cli._oplog import access_options, recorded
from vaultkit.cli._passphrase import check_strength
from vaultkit.keys import Algorithm

if TYPE_CHECKING:
    from vaultkit.keys import KMS, KeyInfo

__all__ = ["init", "key"]

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
@click.option(
    "--slot",
    type=int,
    default=None,
    help="PKCS#11 slot id of the token, when several tokens carry the label.",
)
@click.option(
    "--token-serial",
    default=None,
    help="PKCS#11 token serial number, when several tokens carry the label (recorded in the "
    "key ring: later commands find the same token).",
)
@sign_option
def init(
    keyring: Path,
    kms_kind: str,
    module: str | None,
    token_label: str | None,
    slot: int | None,
    token_serial: str | None,
) -> None:
    """Create a new, empty key ring.

    The passphrase (local KMS) comes from VAULTKIT_PASSPHRASE or a prompt; the PKCS#11 user PIN
    from VAULTKIT_PKCS11_PIN or a prompt. Never from the command line.
    """
    from vaultkit.keys import KeyRing

    if keyring.exists():
        raise CliError(f"{keyring} already exists; refusing to overwrite a key ring")
    if kms_kind == "pkcs11" and (module is None or token_label is None):
        raise click.UsageError("--kms pkcs11 needs --module and --token-label")
    kms: KMS
    if kms_kind == "local":
        from vaultkit.keys import LocalKMS

        secret = passphrase(confirm_new=True)
        check_strength(secret)
        kms = LocalKMS(passphrase=secret)
    elif slot is not None or token_serial is not None:
        from vaultkit.keys import PKCS11KMS

        assert module is not None and token_label is not None
        kms = PKCS11KMS(
            module=module,
            token_label=token_label,
            pin=pin_value(),
            slot=slot,
            token_serial=token_serial,
        )
    else:
        kms = make_kms(kms_kind, module=module, token_label=token_label, new=True)
    signer, _ = store_signing()
    ring = KeyRing.create(keyring, kms, signer=signer)
    ring.close()
    console.print(f"created key ring {keyring} ({kms_kind} KMS)", markup=False)


@click.group()
def key() -> None:
    """Create, list, rotate, retire and destroy data keys (DEKs)."""


class _VersionRecord(TypedDict):
    version: int
    state: str
    kek_version: int | None
    created: str


class _KeyRecord(TypedDict):
    """A key in ``key list --json`` / ``key show --json``."""

    name: str
    key_id: int
    algorithm: str
    primary: int | None
    versions: list[_VersionRecord]


def _key_record(meta: KeyInfo) -> _KeyRecord:
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
@sign_option
@json_option
@access_options
def key_create(keyring: Path, name: str, algorithm: str, as_json: bool) -> None:
    """Create data key NAME (version 1, primary)."""
    with open_ring(keyring) as ring, recorded(ring, "key create", name, 1):
        info = ring.create_key(name, algorithm=algorithm)
    if as_json:
        emit_json(_key_record(info))
        return
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
    with open_ring(keyring) as ring:
        record = _key_record(ring.key_info(name))  # KeyNotFoundError says "did you mean"
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
@sign_option
@json_option
@access_options
def key_rotate(keyring: Path, name: str, as_json: bool) -> None:
    """Make a new primary version of NAME; older versions still decrypt."""
    with open_ring(keyring) as ring:
        with recorded(ring, "key rotate", name) as op:
            op.version = version = ring.rotate_key(name)
        record = _key_record(ring.key_info(name))
    if as_json:
        emit_json(record)
        return
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
@sign_option
@json_option
@access_options
def key_retire(
    keyring: Path, name: str, version: int, db_urls: tuple[str, ...], yes: bool, as_json: bool
) -> None:
    """Retire VERSION of NAME: it then refuses to decrypt unless forced."""
    from vaultkit.cli._inuse import check_database

    with open_ring(keyring) as ring:
        check_database(ring, name, version, db_urls, action="retire")
        confirm(f"Retire {name} version {version}?", yes=yes)
        with recorded(ring, "key retire", name, version):
            ring.retire_version(name, version)
        record = _key_record(ring.key_info(name))
    done(record, as_json, f"{name}: version {version} retired")


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
@click.option(
    "--force",
    is_flag=True,
    help="Destroy a version retired less than 300 s ago (the DEK-cache lifetime): only after "
    "every process using the key ring was stopped or restarted.",
)
@yes_option
@sign_option
@json_option
@access_options
def key_destroy(
    keyring: Path,
    name: str,
    version: int,
    db_urls: tuple[str, ...],
    force: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Erase the material of retired VERSION of NAME (crypto-shredding): irreversible.

    Only a retired version is destroyed, and only 300 s after it was retired (running processes
    may still hold it until then) unless --force.
    """
    from vaultkit.cli._inuse import check_database

    with open_ring(keyring) as ring:
        check_database(ring, name, version, db_urls, action="destroy")
        confirm(
            f"Destroy {name} version {version}? Values under it become unreadable forever.", yes=yes
        )
        with recorded(ring, "key destroy", name, version):
            ring.destroy_version(name, version, force=force)
        record = _key_record(ring.key_info(name))
    done(record, as_json, f"{name}: version {version} destroyed")


@key.command("activate")
@keyring_option
@click.argument("name")
@click.option("--version", "version", type=int, required=True)
@sign_option
@json_option
@access_options
def key_activate(keyring: Path, name: str, version: int, as_json: bool) -> None:
    """Make retired VERSION of NAME active again (undo `key retire`): it decrypts again."""
    with open_ring(keyring) as ring:
        with recorded(ring, "key activate", name, version):
            ring.activate_version(name, version)
        record = _key_record(ring.key_info(name))
    done(record, as_json, f"{name}: version {version} active again")
