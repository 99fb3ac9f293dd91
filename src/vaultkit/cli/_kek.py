"""``vaultkit kek ...``: the key-encryption keys that open the key ring (rotate, list, add,
remove). A KEK wraps the ring key, never data: rotating or adding one rewraps, it does not
re-encrypt a column. Every state-changing command takes ``--json`` and then prints one JSON
object on stdout.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vaultkit.cli._common import (
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
    new_passphrase_value,
    open_ring,
    sign_option,
)
from vaultkit.cli._oplog import access_options, recorded
from vaultkit.cli._passphrase import check_strength

if TYPE_CHECKING:
    from vaultkit.keys import KMS, KeyRing

__all__ = ["kek"]

ENV_OTHER_PASSPHRASE = "VAULTKIT_OTHER_PASSPHRASE"  # noqa: S105 (a variable name)


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
            record: dict[str, object] = {"kek": name, "kept_old": True, "keks": _keks(ring)}
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

    kms: KMS
    if with_passphrase:
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
    done({"kek": added, "keks": records}, as_json, f"added KEK {added}")


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
    done({"removed": name, "keks": records}, as_json, f"removed KEK {name}")


def _keks(ring: KeyRing) -> list[dict[str, object]]:
    return [
        {"name": k.name, "kind": k.kind, "kek_version": k.kek_version, "opened_with": k.opened_with}
        for k in ring.keks()
    ]


def _opened_name(ring: KeyRing) -> str:
    return str(next(k.name for k in ring.keks() if k.opened_with))


def _other_kms(ring: Any) -> list[KMS]:
    """Credentials for the ring's other KEKs, from the environment (never argv):
    ``VAULTKIT_OTHER_PASSPHRASE`` and, for token KEKs, the PKCS#11 module and PIN."""
    import os

    from vaultkit.keys import LocalKMS

    others: list[KMS] = []
    other = os.environ.get(ENV_OTHER_PASSPHRASE)
    if other:
        others.append(LocalKMS(passphrase=other))
    for kek_name, state in type(ring).kek_states(ring.path):
        if state.get("kind") == "pkcs11" and kek_name != _opened_name(ring):
            others.append(make_kms("pkcs11", token_label=state.get("token_label")))
    return others
