"""TLS and mutual TLS with a test CA (made with cryptography): the client checks the server's
certificate against the CA; with ``--tls-client-ca`` the client certificate's CN is the
principal; a non-loopback address without TLS is refused."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli._run import env_for, fails, vk
from tests.service._ca import TestCA
from tests.service.conftest import Principals, Server
from vaultkit.errors import AccessDeniedError, KMSError
from vaultkit.remote import RemoteVault

CTX = {"table": "t"}


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path)


@pytest.fixture
def tls_server(
    ring_path: Path, principals: Principals, tmp_path: Path, ca: TestCA
) -> Iterator[Server]:
    cert, key = ca.server()
    s = Server(
        ring_path,
        tmp_path,
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        "--tls-client-ca",
        str(ca.pem),
    )
    try:
        yield s
    finally:
        assert s.stop() == 0


def test_mutual_tls_principal_is_the_certificate_cn(
    tls_server: Server, ca: TestCA, principals: Principals
) -> None:
    assert tls_server.url.startswith("https://127.0.0.1:")
    cert, key = ca.client("tls-app")
    with RemoteVault(tls_server.url, client_cert=(str(cert), str(key)), ca=str(ca.pem)) as remote:
        ct = remote.encrypt("c.name", "张三", context=CTX)
        assert remote.decrypt_text(ct, context=CTX) == "张三"
    records = tls_server.records()
    assert records and all('"principal":"tls-app"' in r for r in records)
    # a certificate of a principal without grants: 403
    cert, key = ca.client("stranger")
    with RemoteVault(tls_server.url, client_cert=(str(cert), str(key)), ca=str(ca.pem)) as remote:
        with pytest.raises(AccessDeniedError):
            remote.encrypt("c.name", "张三", context=CTX)
    # a token naming another principal than the certificate: 401
    cert, key = ca.client("tls-app")
    with (
        RemoteVault(
            tls_server.url,
            client_cert=(str(cert), str(key)),
            ca=str(ca.pem),
            token=principals.tokens["app"],
        ) as remote,
        pytest.raises(AccessDeniedError),
    ):
        remote.encrypt("c.name", "张三", context=CTX)


def test_without_client_certificate_the_handshake_fails(tls_server: Server, ca: TestCA) -> None:
    with RemoteVault(tls_server.url, ca=str(ca.pem), retries=0) as remote, pytest.raises(KMSError):
        remote.encrypt("c.name", "x", context=CTX)


def test_certificate_of_another_ca_is_refused(
    tls_server: Server, ca: TestCA, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    cert, key = TestCA(other, "another CA").client("tls-app")
    with (
        RemoteVault(
            tls_server.url, client_cert=(str(cert), str(key)), ca=str(ca.pem), retries=0
        ) as remote,
        pytest.raises(KMSError),
    ):
        remote.encrypt("c.name", "x", context=CTX)
    # and the client refuses a server whose certificate the CA it trusts did not issue
    context = ssl.create_default_context(cafile=str(TestCA(other, "third CA").pem))
    with pytest.raises(httpx.ConnectError):
        httpx.get(tls_server.url + "/healthz", verify=context)


def test_tls_with_bearer_token(
    ring_path: Path, principals: Principals, tmp_path: Path, ca: TestCA
) -> None:
    cert, key = ca.server()
    s = Server(ring_path, tmp_path, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        with RemoteVault(s.url, token=principals.tokens["app"], ca=str(ca.pem)) as remote:
            token = remote.tokenize("c.card", "6222020200112233446", format="card", context=CTX)
            assert remote.detokenize("c.card", token, format="card", context=CTX) == (
                "6222020200112233446"
            )
    finally:
        assert s.stop() == 0


def test_non_loopback_bind_without_tls_is_refused(ring_path: Path) -> None:
    for bind in ("0.0.0.0:8700", "10.1.2.3:0", "[::]:0"):
        fails(vk("serve", "--bind", bind, env=env_for(ring_path)), "without TLS")
