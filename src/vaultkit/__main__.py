"""``python -m vaultkit``: the same as the ``vaultkit`` console script."""

from vaultkit.cli import main

main(prog_name="vaultkit")
