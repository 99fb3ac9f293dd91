"""The ``vaultkit`` command line: key ring, online re-encryption, self-inspection scan, demo.

Commands hold no crypto of their own: they call ``vaultkit.keys``, ``vaultkit.Vault``,
``vaultkit.reencrypt`` and ``vaultkit.scan``. See docs/cli.md.
"""

from __future__ import annotations

import click

from vaultkit import __version__
from vaultkit.cli import _stream
from vaultkit.cli._common import VaultkitGroup
from vaultkit.cli._demo import demo
from vaultkit.cli._keys import init, kek, key
from vaultkit.cli._reencrypt import reencrypt
from vaultkit.cli._scan import scan
from vaultkit.cli._scripting import detokenize, mask, tokenize
from vaultkit.cli._verify import verify

__all__ = ["main"]


@click.group(cls=VaultkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vaultkit")
def main() -> None:
    """Field-level encryption, tokens and key management for personal financial information."""


for command in (init, key, kek, reencrypt, scan, tokenize, detokenize, mask, demo):
    main.add_command(command)
main.add_command(verify)

for command in (
    _stream.encrypt_file,
    _stream.decrypt_file,
    _stream.verify_file,
    _stream.rewrap_file,
    _stream.sm2,
):
    main.add_command(command)
