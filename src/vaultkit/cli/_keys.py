"""``vaultkit init``, ``vaultkit key ...`` and ``vaultkit kek ...``: the key ring lifecycle.

Every state-changing command takes ``--json`` and then prints one JSON object on stdout.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from vaultkit.cli._common import (
    ENV_DB,
    SIGN_META,
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
from vaultkit.cli._oplog import access_options, recorded
from vaultkit.cli._passphrase import check_strength
from vaultkit.keys import Algorithm

__all__ = ["init", "kek", "key"]

_ALGORITHMS = [a.label for a in Algorithm]
ENV_OTHER_PASSPHRASE = "VAULTKIT_OTHER_PASSPHRASE"  # noqa: S105 (a variable name)


def _remember_sign(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[SIGN_META] = str(value)


sign_option = click.option(
    "--sign",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    expose_value=False,
    callback=_remember_sign,
    help="Sign the key store with this SM2 private key file (or $VAULTKIT_SIGNING_KEY); "
    "readers with $VAULTKIT_TRUSTED_SIGNERS refuse stores not signed by a trusted key.",
)


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
    kms: Any
    if kms_kind == "local":
        from vaultkit.cli._common import passphrase
        from vaultkit.keys import LocalKMS

        secret = passphrase(confirm_new=True)
        check_strength(secret)
        kms = LocalKMS(passphrase=secret)
    elif slot is not None or token_serial is not None:
        from vaultkit.cli._common import _pin
        from vaultkit.keys import PKCS11KMS

        assert module is not None and token_label is not None
        kms = PKCS11KMS(
            module=module, token_label=token_label, pin=_pin(), slot=slot, token_serial=token_serial
        )
    else:
        kms = make_kms(kms_kind, module=module, token_label=token_label, new=True)
    from vaultkit.cli._common import store_signing

    signer, _ = store_signing()
    ring = KeyRing.create(keyring, kms, signer=signer)
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
    from vaultkit.cli._reencrypt import check_database

    with open_ring(keyring) as ring:
        check_database(ring, name, version, db_urls, action="retire")
        confirm(f"Retire {name} version {version}?", yes=yes)
        with recorded(ring, "key retire", name, version):
            ring.retire_version(name, version)
        record = _key_record(ring.key_info(name))
    _done(record, as_json, f"{name}: version {version} retired")


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
    from vaultkit.cli._reencrypt import check_database

    with open_ring(keyring) as ring:
        check_database(ring, name, version, db_urls, action="destroy")
        confirm(
            f"Destroy {name} version {version}? Values under it become unreadable forever.", yes=yes
        )
        with recorded(ring, "key destroy", name, version):
            ring.destroy_version(name, version, force=force)
        record = _key_record(ring.key_info(name))
    _done(record, as_json, f"{name}: version {version} destroyed")


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
    _done(record, as_json, f"{name}: version {version} active again")


def _done(record: Any, as_json: bool, message: str) -> None:
    if as_json:
        emit_json(record)
    else:
        console.print(message, markup=False)


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
@click.option(
    "--keep-old",
    is_flag=True,
    help="With --new-passphrase: add the new passphrase as another KEK and keep the old one, so "
    "running services keep working; `vaultkit kek remove` the old one once they have the new.",
)
@sign_option
@json_option
@access_options
def kek_rotate(keyring: Path, new_passphrase: bool, keep_old: bool, as_json: bool) -> None:
    """Create a new KEK version, draw a fresh ring key and rewrap every DEK (never touches data).

    Without --keep-old, processes still using the old passphrase can no longer open the ring.
    Other passphrase or token KEKs of the ring need their credentials to rewrap: set
    VAULTKIT_OTHER_PASSPHRASE (one other passphrase KEK) or the PKCS#11 module and PIN.
    """
    from vaultkit.cli._common import new_passphrase_value
    from vaultkit.keys import LocalKMS

    if keep_old and not new_passphrase:
        raise click.UsageError("--keep-old goes with --new-passphrase")
    with open_ring(keyring) as ring:
        secret = None
        if new_passphrase:
            if not isinstance(ring.kms, LocalKMS) or ring.kms.state()["source"] != "passphrase":
                raise CliError("--new-passphrase is for passphrase key rings")
            secret = new_passphrase_value()
            check_strength(secret)
        start = time.perf_counter()
        if keep_old:
            assert secret is not None
            with recorded(ring, "kek add") as op:
                name = ring.add_kek(LocalKMS(passphrase=secret))
                op.key = f"kek:{name}"
            record: dict[str, Any] = {"kek": name, "kept_old": True, "keks": _keks(ring)}
            message = (
                f"added KEK {name} (the new passphrase); the old passphrase opens the ring until "
                f"`vaultkit kek remove {_opened_name(ring)}`"
            )
        else:
            if secret is not None:
                ring.kms.set_next_secret(passphrase=secret)  # type: ignore[attr-defined]
            with recorded(ring, "kek rotate", f"kek:{_opened_name(ring)}") as op:
                op.version = version = ring.rotate_kek(others=_other_kms(ring))
            elapsed = time.perf_counter() - start
            count = len(ring.keys())
            record = {"kek_version": version, "keys": count, "seconds": round(elapsed, 4)}
            message = (
                f"KEK version {version} is current; {count} keys rewrapped in "
                f"{elapsed * 1000:.1f} ms"
            )
    if as_json:
        emit_json(record)
        return
    console.print(message, markup=False)


@kek.command("list")
@keyring_option
@json_option
def kek_list(keyring: Path, as_json: bool) -> None:
    """List the KEKs that open the key ring (any one of them does)."""
    with open_ring(keyring) as ring:
        records = _keks(ring)
    if as_json:
        emit_json(records)
        return
    print_table(
        f"KEKs of {keyring}",
        ["name", "kind", "KEK version", "opened with"],
        [
            (r["name"], r["kind"], r["kek_version"], "yes" if r["opened_with"] else "")
            for r in records
        ],
    )


@kek.command("add")
@keyring_option
@click.option("--name", default=None, help="Name of the new KEK (default: from its kind).")
@click.option(
    "--passphrase",
    "with_passphrase",
    is_flag=True,
    help="A passphrase KEK: the passphrase from VAULTKIT_NEW_PASSPHRASE or a prompt.",
)
@click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A key file KEK (32 raw bytes or 64 hex digits).",
)
@click.option(
    "--sm2-public",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="An SM2 recipient KEK (public key PEM or hex), e.g. an offline recovery key.",
)
@click.option(
    "--pkcs11-token",
    default=None,
    help="A PKCS#11 KEK in the token with this label (module from $VAULTKIT_PKCS11_MODULE, "
    "PIN from $VAULTKIT_PKCS11_PIN or a prompt).",
)
@sign_option
@json_option
@access_options
def kek_add(
    keyring: Path,
    name: str | None,
    with_passphrase: bool,
    key_file: str | None,
    sm2_public: str | None,
    pkcs11_token: str | None,
    as_json: bool,
) -> None:
    """Add another KEK: the ring then opens with it too (the current ring key is wrapped for it)."""
    chosen = [
        bool(with_passphrase),
        key_file is not None,
        sm2_public is not None,
        bool(pkcs11_token),
    ]
    if sum(chosen) != 1:
        raise click.UsageError("give one of --passphrase, --key-file, --sm2-public, --pkcs11-token")
    from vaultkit.keys import LocalKMS, SM2Recipients, sm2

    kms: Any
    if with_passphrase:
        from vaultkit.cli._common import new_passphrase_value

        secret = new_passphrase_value()
        check_strength(secret)
        kms = LocalKMS(passphrase=secret)
    elif key_file is not None:
        kms = LocalKMS(key_file=key_file)
    elif sm2_public is not None:
        kms = SM2Recipients(public_keys=[sm2.load_public_key(sm2_public)])
    else:
        kms = make_kms("pkcs11", token_label=pkcs11_token)
    with open_ring(keyring) as ring:
        try:
            with recorded(ring, "kek add", None if name is None else f"kek:{name}") as op:
                added = ring.add_kek(kms, name=name)
                op.key = f"kek:{added}"
        finally:
            kms.close()
        records = _keks(ring)
    _done({"kek": added, "keks": records}, as_json, f"added KEK {added}")


@kek.command("remove")
@keyring_option
@click.argument("name")
@yes_option
@sign_option
@json_option
@access_options
def kek_remove(keyring: Path, name: str, yes: bool, as_json: bool) -> None:
    """Remove KEK NAME and draw a fresh ring key: NAME no longer opens the ring.

    Open the ring with another KEK (the one removed cannot remove itself). Other passphrase or
    token KEKs that remain need their credentials (VAULTKIT_OTHER_PASSPHRASE, PKCS#11 PIN).
    """
    with open_ring(keyring) as ring:
        confirm(f"Remove KEK {name}? It will no longer open the key ring.", yes=yes)
        with recorded(ring, "kek remove", f"kek:{name}"):
            ring.remove_kek(name, others=_other_kms(ring))
        records = _keks(ring)
    _done({"removed": name, "keks": records}, as_json, f"removed KEK {name}")


def _keks(ring: Any) -> list[dict[str, Any]]:
    return [
        {"name": k.name, "kind": k.kind, "kek_version": k.kek_version, "opened_with": k.opened_with}
        for k in ring.keks()
    ]


def _opened_name(ring: Any) -> str:
    return str(next(k.name for k in ring.keks() if k.opened_with))


def _other_kms(ring: Any) -> list[Any]:
    """Credentials for the ring's other KEKs, from the environment (never argv):
    ``VAULTKIT_OTHER_PASSPHRASE`` and, for token KEKs, the PKCS#11 module and PIN."""
    import os

    from vaultkit.keys import LocalKMS

    others: list[Any] = []
    other = os.environ.get(ENV_OTHER_PASSPHRASE)
    if other:
        others.append(LocalKMS(passphrase=other))
    for kek_name, state in type(ring).kek_states(ring.path):
        if state.get("kind") == "pkcs11" and kek_name != _opened_name(ring):
            others.append(make_kms("pkcs11", token_label=state.get("token_label")))
    return others
