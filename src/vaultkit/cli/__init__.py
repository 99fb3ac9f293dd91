"""The ``vaultkit`` command line: key ring, online re-encryption, self-inspection scan, demo.

Commands hold no crypto of their own: they call ``vaultkit.keys``, ``vaultkit.Vault``,
``vaultkit.reencrypt`` and ``vaultkit.scan``. See docs/cli.md.

Each command's module is imported only when the command runs (``COMMANDS``), so ``vaultkit
--help`` and usage errors start without SQLAlchemy, rich or the demo. A new command is one more
line in ``COMMANDS``; its help text there must be the command's own first sentence (a test checks).
"""

from __future__ import annotations

import click

from vaultkit import __version__
from vaultkit.cli._common import CommandSpec, VaultkitGroup

__all__ = ["main"]

_K, _S, _X = "vaultkit.cli._keys", "vaultkit.cli._stream", "vaultkit.cli._scripting"

COMMANDS: dict[str, CommandSpec] = {
    "init": (_K, "init", "Create a new, empty key ring."),
    "key": (_K, "key", "Create, list, rotate, retire and destroy data keys (DEKs)."),
    "kek": ("vaultkit.cli._kek", "kek", "Key-encryption key (KEK) operations."),
    "reencrypt": (
        "vaultkit.cli._reencrypt",
        "reencrypt",
        "Move every value of the columns to its key's primary version, online and resumably.",
    ),
    "scan": (
        "vaultkit.cli._scan",
        "scan",
        "Self-inspection: find unprotected personal data (masked in the report) and count vaultkit "
        "ciphertexts by key and version, in every schema.",
    ),
    "tokenize": (_X, "tokenize", "Tokenize values read line by line from stdin."),
    "detokenize": (_X, "detokenize", "Detokenize tokens read line by line from stdin."),
    "mask": (
        _X,
        "mask",
        "Mask values read line by line from stdin for display (no key needed).",
    ),
    "verify": (
        "vaultkit.cli._verify",
        "verify",
        "Decrypt every protected value in the database and list the rows that do not.",
    ),
    "demo": (
        "vaultkit.cli._demo",
        "demo",
        "Run the end-to-end demonstration on the embedded default (local key ring + SQLite).",
    ),
    "encrypt-file": (
        _S,
        "encrypt_file",
        "Encrypt IN (a file or - for stdin) into OUT (a file or - for stdout).",
    ),
    "decrypt-file": (
        _S,
        "decrypt_file",
        "Decrypt IN (a file or -) into OUT (a file, written only once fully verified, or -).",
    ),
    "verify-file": (
        _S,
        "verify_file",
        "Authenticate the whole stream FILE (or - for stdin) without writing plaintext anywhere.",
    ),
    "rewrap-file": (
        _S,
        "rewrap_file",
        "Rewrite only FILE's header: the file key under the key ring's current KEK version and "
        "the chosen SM2 recipients.",
    ),
    "sm2": (_S, "sm2", "SM2 key pairs for stream recipients and signers (GB/T 32918)."),
    "serve": (
        "vaultkit.cli._serve",
        "serve",
        "Serve the key ring over HTTP(S) to authenticated callers, with grants and an audit trail.",
    ),
    "grant": (
        "vaultkit.cli._access",
        "grant",
        "Allow PRINCIPAL operations on the keys matching a pattern (replaces its grant there).",
    ),
    "revoke": (
        "vaultkit.cli._access",
        "revoke",
        "Take operations (all by default) away from PRINCIPAL's grants.",
    ),
    "grants": (
        "vaultkit.cli._access",
        "grants",
        "List every principal's grants (no token is ever shown).",
    ),
    "principal": (
        "vaultkit.cli._access",
        "principal",
        "Principals' bearer tokens for the key service.",
    ),
    "audit": (
        "vaultkit.cli._audit",
        "audit",
        "Verify, print the head of, and report on a tamper-evident audit trail.",
    ),
}


@click.group(
    cls=VaultkitGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="vaultkit")
def main() -> None:
    """Field-level encryption, tokens and key management for personal financial information."""
