"""``vaultkit serve``: the key service, so application servers never hold key material.

The key ring is opened as by every command (``--keyring`` / ``VAULTKIT_KEYRING``, its secret
from the environment, never argv) and re-read within 0.25 s whenever another process changes
it. Needs the ``server`` extra. See docs/keyservice.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from vaultkit.cli._common import CliError, keyring_option
from vaultkit.cli._credentials import open_ring

__all__ = ["serve"]

ENV_AUDIT = "VAULTKIT_AUDIT"


@click.command()
@keyring_option
@click.option(
    "--bind",
    default="127.0.0.1:8700",
    show_default=True,
    help="HOST:PORT to listen on (port 0: any free port, printed at start-up).",
)
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), help="PEM certificate.")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), help="PEM private key.")
@click.option(
    "--tls-client-ca",
    type=click.Path(dir_okay=False, exists=True),
    help="PEM CA bundle: require client certificates it issued (mutual TLS; CN = principal).",
)
@click.option(
    "--audit",
    "audit_target",
    envvar=ENV_AUDIT,
    help=f"Audit trail: a JSON-lines file or a SQLAlchemy URL (or ${ENV_AUDIT}).",
)
@click.option(
    "--drain",
    type=click.FloatRange(0, 3600),
    default=30.0,
    show_default=True,
    help="Seconds SIGTERM waits for requests in flight.",
)
def serve(
    keyring: Path,
    bind: str,
    tls_cert: str | None,
    tls_key: str | None,
    tls_client_ca: str | None,
    audit_target: str | None,
    drain: float,
) -> None:
    """Serve the key ring over HTTP(S) to authenticated callers, with grants and an audit trail.

    Callers authenticate with a bearer token (`vaultkit principal token NAME`) or, with
    --tls-client-ca, a client certificate whose CN is the principal. A non-loopback --bind
    needs --tls-cert and --tls-key. SIGTERM drains the requests in flight. See
    docs/keyservice.md."""
    try:
        from vaultkit.service.app import KeyService
        from vaultkit.service.server import check_bind, parse_bind
        from vaultkit.service.server import serve as run
    except ImportError:
        raise CliError(
            "the key service needs the server extra: pip install 'vaultkit[server]'"
        ) from None
    host, port = parse_bind(bind)
    check_bind(host, tls=tls_cert is not None)  # before any secret is asked for
    with open_ring(keyring) as ring:
        if not ring.access_controlled:
            click.echo(
                "warning: the key ring has no grants: every authenticated caller may do "
                "everything (`vaultkit grant` first; docs/access.md)",
                err=True,
            )
        trail = None
        if audit_target:
            from vaultkit.audit import Trail

            trail = Trail.open(audit_target, ring)
        try:
            run(
                KeyService(ring, trail=trail),
                host=host,
                port=port,
                tls_cert=tls_cert,
                tls_key=tls_key,
                tls_client_ca=tls_client_ca,
                drain=drain,
                ready=lambda url: _ready(url, trail is not None),
            )
        finally:
            if trail is not None:
                trail.close()


def _ready(url: str, audited: bool) -> None:
    click.echo(f"vaultkit serve: listening on {url} (pid {os.getpid()})")
    if not audited:
        click.echo("warning: no --audit trail: calls are not recorded", err=True)
    sys.stdout.flush()
