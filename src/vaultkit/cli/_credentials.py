"""The CLI's credentials: where a command's secrets come from, and the key ring and Vault they
open.

Secrets never come from argv (visible to every user of the machine: ``ps``, /proc): a
passphrase, a PKCS#11 PIN or a new passphrase is read from its environment variable or
prompted for with echo off; a key file, an SM2 identity and a signing key are named by path.
:func:`open_ring` chooses the KEK whose credentials are present (:func:`_ring_kms`), applies the
store's signers and rollback anchor, and wipes the ring on exit; :func:`open_vault` and
:func:`vault_of` put the command's principal and audit trail on it (:mod:`vaultkit.cli._oplog`).
Everything heavier than click is imported inside the functions (``vaultkit --help`` stays fast).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vaultkit.cli._common import CliError, make_engine

if TYPE_CHECKING:
    from vaultkit import Vault
    from vaultkit.keys import KMS, KeyRing

__all__ = [
    "ENV_PASSPHRASE",
    "SIGN_META",
    "make_kms",
    "new_passphrase_value",
    "open_ring",
    "open_vault",
    "passphrase",
    "pin_value",
    "sign_option",
    "store_signing",
    "vault_of",
]

ENV_PASSPHRASE = "VAULTKIT_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
ENV_NEW_PASSPHRASE = "VAULTKIT_NEW_PASSPHRASE"  # noqa: S105
ENV_PIN = "VAULTKIT_PKCS11_PIN"
ENV_MODULE = "VAULTKIT_PKCS11_MODULE"
ENV_KEY_FILE = "VAULTKIT_KEY_FILE"
ENV_SM2_IDENTITY = "VAULTKIT_SM2_IDENTITY"
ENV_ANCHOR_DB = "VAULTKIT_ANCHOR_DB_URL"
ENV_SIGNING_KEY = "VAULTKIT_SIGNING_KEY"
ENV_TRUSTED_SIGNERS = "VAULTKIT_TRUSTED_SIGNERS"


def _secret(env: str, prompt: str, *, what: str, confirm: bool = False) -> str:
    """A secret from the environment variable ``env``, or an interactive prompt (echo off);
    ``CliError`` naming ``env`` when neither is available. Never from argv."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CliError(f"no {what}: set {env} or run interactively to be prompted")
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


def passphrase(*, confirm_new: bool = False) -> str:
    """The key ring passphrase: ``VAULTKIT_PASSPHRASE`` or an interactive prompt (echo off).

    Never an argument: argv is visible to every user of the machine (``ps``, /proc).
    """
    return _secret(ENV_PASSPHRASE, "Passphrase", what="passphrase", confirm=confirm_new)


def new_passphrase_value() -> str:
    """A new passphrase (KEK rotation): ``VAULTKIT_NEW_PASSPHRASE`` or a confirmed prompt."""
    return _secret(ENV_NEW_PASSPHRASE, "New passphrase", what="new passphrase", confirm=True)


def pin_value() -> str:
    """The PKCS#11 user PIN: ``VAULTKIT_PKCS11_PIN`` or an interactive prompt (echo off)."""
    return _secret(ENV_PIN, "PKCS#11 user PIN", what="PKCS#11 PIN")


def make_kms(
    kind: str,
    *,
    module: str | None = None,
    token_label: str | None = None,
    new: bool = False,
) -> KMS:
    """A KMS of ``kind`` (``local`` or ``pkcs11``) with its secret from the environment or a
    prompt. PKCS#11: the module from ``module`` or ``VAULTKIT_PKCS11_MODULE``."""
    if kind == "pkcs11":
        from vaultkit.keys import PKCS11KMS

        module = module or os.environ.get(ENV_MODULE)
        if not module:
            raise CliError(f"this key ring is in a PKCS#11 token: set {ENV_MODULE}")
        if not token_label:
            raise CliError("a PKCS#11 key ring needs the token label")
        return PKCS11KMS(module=module, token_label=token_label, pin=pin_value())
    from vaultkit.keys import LocalKMS

    return LocalKMS(passphrase=passphrase(confirm_new=new))


def _ring_kms(states: Sequence[tuple[str, Mapping[str, object]]], path: Path) -> KMS:
    """The KMS to open a ring with, chosen by which credentials are present (a ring may have
    several KEKs): the first KEK, in the store's order, whose credential is set -- a key file
    (``VAULTKIT_KEY_FILE``), an SM2 identity (``VAULTKIT_SM2_IDENTITY``), a PKCS#11 PIN
    (``VAULTKIT_PKCS11_PIN``) or a passphrase (``VAULTKIT_PASSPHRASE``). With none set, the
    first KEK's secret is prompted for on a terminal (a ring whose KEKs all take one kind of
    credential: that one's usual error without a terminal); otherwise a usage error names the
    variables this ring accepts."""

    def credential(state: Mapping[str, object]) -> str:
        if state["kind"] == "local":
            return "key_file" if state.get("source") == "key_file" else "passphrase"
        return str(state["kind"])

    env = {
        "key_file": ENV_KEY_FILE,
        "sm2": ENV_SM2_IDENTITY,
        "pkcs11": ENV_PIN,
        "passphrase": ENV_PASSPHRASE,
    }
    firsts: dict[str, Mapping[str, object]] = {}  # the first KEK of each credential, in order
    for _, state in states:
        firsts.setdefault(credential(state), state)
    present = [k for k in firsts if k in env and os.environ.get(env[k])]
    if not present and (sys.stdin.isatty() or len(firsts) == 1):
        present = [credential(states[0][1])]  # prompt, or that credential's own error
    if not present:
        options = [env[k] for k in firsts if k in env]
        if not options:
            raise CliError(f"the key ring {path} has no KEK of a kind the CLI can open")
        raise CliError(
            f"no credentials for the key ring {path}: set {' or '.join(options)} "
            "(its KEKs: " + ", ".join(f"{n} ({credential(s)})" for n, s in states) + ")"
        )
    chosen = present[0]
    if chosen in ("key_file", "sm2") and not os.environ.get(env[chosen]):
        what = "a key file" if chosen == "key_file" else "an SM2 recipient KEK"
        raise CliError(f"this key ring uses {what}: set {env[chosen]}")
    if chosen == "key_file":
        from vaultkit.keys import LocalKMS

        return LocalKMS(key_file=os.environ[ENV_KEY_FILE])
    if chosen == "sm2":
        from vaultkit.keys import SM2Recipients, sm2

        return SM2Recipients(private_key=sm2.load_private_key(os.environ[ENV_SM2_IDENTITY]))
    if chosen in ("passphrase", "pkcs11"):
        label = firsts[chosen].get("token_label")
        return make_kms(
            "local" if chosen == "passphrase" else "pkcs11",
            token_label=label if isinstance(label, str) else None,
        )
    raise CliError(f"key ring uses the {chosen!r} KMS, which the CLI cannot open")


SIGN_META = "vaultkit_sign"  # ctx.meta key of a command's --sign KEYFILE


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


def store_signing() -> tuple[str | None, list[str] | None]:
    """``(signer, trusted signers)`` for the key store: the operator's SM2 private key file from
    the command's ``--sign KEYFILE`` or ``VAULTKIT_SIGNING_KEY`` (signs every store written);
    the trusted signers' public key files from ``VAULTKIT_TRUSTED_SIGNERS`` (separated by
    ``:``; the store must be signed by one of them)."""
    ctx = click.get_current_context(silent=True)
    sign = (ctx.meta.get(SIGN_META) if ctx is not None else None) or os.environ.get(ENV_SIGNING_KEY)
    listed = [p for p in os.environ.get(ENV_TRUSTED_SIGNERS, "").split(os.pathsep) if p]
    if not sign and not listed:
        return None, None  # SM2 (and the ciphers under it) not imported: see open_ring
    from vaultkit.keys import sm2

    signer = None if not sign else sm2.load_private_key(sign)
    trusted = [sm2.load_public_key(p) for p in listed] or None
    return signer, trusted


@contextmanager
def open_ring(path: Path) -> Iterator[KeyRing]:
    """The key ring at ``path``, opened with a KEK whose credentials are present (see
    :func:`_ring_kms`), closed (wiped) on exit.

    Local rings take the passphrase from ``VAULTKIT_PASSPHRASE`` (or a prompt) or the key file
    named by ``VAULTKIT_KEY_FILE``; SM2 recipients the private key file named by
    ``VAULTKIT_SM2_IDENTITY``; PKCS#11 rings read their module and token from the store and the
    PIN from ``VAULTKIT_PKCS11_PIN`` (or a prompt). With ``VAULTKIT_ANCHOR_DB_URL`` (an
    SQLAlchemy URL, usually the application database), the ring's rollback anchor is the
    ``vaultkit_keyring_anchor`` table there: a store older than it records is refused.
    Signed stores: see :func:`store_signing`.
    """
    from vaultkit.keys import KeyRing

    if not path.exists():
        raise CliError(f"no key ring at {path} (create one with `vaultkit init`)")
    kms = _ring_kms(KeyRing.kek_states(path), path)  # which backend and secret to ask for
    signer, trusted = store_signing()
    anchor = None
    if os.environ.get(ENV_ANCHOR_DB):  # rollback anchor in the application database
        from vaultkit.keys import DatabaseAnchor

        anchor = DatabaseAnchor(make_engine(os.environ[ENV_ANCHOR_DB]))
    ring = KeyRing.open(path, kms, anchor=anchor, signer=signer, trusted_signers=trusted)
    try:
        yield ring
    finally:
        ring.close()


@contextmanager
def open_vault(path: Path) -> Iterator[Vault]:
    """A Vault over the key ring at ``path``, run as ``--principal``/``VAULTKIT_PRINCIPAL``
    and recording into ``--audit``/``VAULTKIT_AUDIT`` when given (:mod:`vaultkit.cli._oplog`)."""
    with open_ring(path) as ring, vault_of(ring) as vault:
        yield vault


@contextmanager
def vault_of(ring: KeyRing) -> Iterator[Vault]:
    """A Vault over ``ring`` as :func:`open_vault` makes it."""
    from vaultkit import Vault
    from vaultkit.cli._oplog import audit_target, principal

    target = audit_target()
    if target is None:
        with Vault(ring, principal=principal()) as vault:
            yield vault
        return
    from vaultkit.audit import Trail

    with (
        Trail.open(target, ring) as trail,
        Vault(ring, principal=principal(), audit=trail) as vault,
    ):
        yield vault
