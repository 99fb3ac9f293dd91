"""Where a key version is still in use in a database: what ``vaultkit key retire`` and ``key
destroy`` check first (``--db``), and the demo's count. Encrypted columns are counted by their
headers, token and blind-index columns through the catalogue (``vaultkit.reencrypt._count``
says how each is counted); what could not be checked is said, never taken for "nothing there".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from vaultkit.cli._common import ENV_DB, CliError, make_engine

if TYPE_CHECKING:
    from vaultkit.keys import KeyRing

__all__ = ["check_database", "count_under_version"]


def count_under_version(url: str, ring: KeyRing, name: str, version: int) -> list[tuple[str, int]]:
    """Where values under ``name`` version ``version`` remain in the database at ``url``:
    encrypted (headers), token and blind-index columns (the catalogue;
    ``vaultkit.reencrypt._count`` says how each is counted). What could not be checked is said
    on stderr, plainly."""
    from vaultkit import Vault
    from vaultkit.cli._oplog import operator
    from vaultkit.errors import KeyNotFoundError
    from vaultkit.reencrypt import count_version_everywhere

    meta = next((m for m in ring.keys() if m.name == name), None)
    if meta is None:
        raise KeyNotFoundError(f"no key named {name!r}")
    engine = make_engine(url)
    try:
        # the count reads key states, never a value: any principal may run it
        vault = Vault(ring, principal=operator())
        found = count_version_everywhere(engine, vault, name, meta.key_id, version)
    finally:
        engine.dispose()
    for note in found.unchecked:
        click.echo(f"not checked: {note}", err=True)
    return found.places


def check_database(
    ring: KeyRing, name: str, version: int, urls: tuple[str, ...], *, action: str
) -> None:
    """What ``key retire`` and ``key destroy`` run first: refuse (``CliError``) while any value
    in the databases at ``urls`` is under the version; say so when there is nothing to check."""
    if not urls:
        click.echo(
            f"not checked: no database URL (--db or ${ENV_DB}); values under {name} "
            f"v{version} in a database would not be found",
            err=True,
        )
        return
    for url in urls:
        places = count_under_version(url, ring, name, version)
        if places:
            total = sum(n for _, n in places)
            where = ", ".join(f"{place}: {n}" for place, n in places)
            raise CliError(
                f"refusing to {action} {name} v{version}: {total} values are still under it "
                f"({where}); run `vaultkit reencrypt` first"
            )
