"""The service's life: /healthz, /metrics, the committed OpenAPI schema, key-ring changes made by
the CLI seen without a restart, and SIGTERM draining the requests in flight."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.cli._run import env_for, ok, vk
from tests.service.conftest import Principals, Server
from vaultkit.envelope import inspect
from vaultkit.errors import DecryptionError
from vaultkit.remote import RemoteVault

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "keyservice-openapi.json"
CTX = {"table": "t"}
SEEN_WITHIN = 1.0  # seconds: the key ring's store is re-read at most every 0.25 s


def test_healthz_and_metrics(server: Server, principals: Principals) -> None:
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    with RemoteVault(server.url, token=principals.tokens["app"]) as remote:
        remote.tokenize_many("c.card", ["6222020200112233446"] * 7, format="card", context=CTX)
    with RemoteVault(server.url, token=principals.tokens["teller"]) as teller:
        with pytest.raises(PermissionError):
            teller.encrypt("c.name", "x", context=CTX)
    text = httpx.get(server.url + "/metrics").text
    assert (
        'vaultkit_requests_total{principal="app",operation="tokenize_batch",status="200"} 1' in text
    )
    assert 'vaultkit_items_total{principal="app",operation="tokenize_batch"} 7' in text
    assert 'vaultkit_denials_total{principal="teller",operation="encrypt",status="403"} 1' in text
    assert 'vaultkit_request_duration_seconds_count{operation="tokenize_batch"} 1' in text
    assert (
        'vaultkit_request_duration_seconds_bucket{operation="tokenize_batch",le="+Inf"} 1' in text
    )
    assert "# TYPE vaultkit_request_duration_seconds histogram" in text
    assert "6222020200112233446" not in text


def test_served_schema_equals_the_committed_one(server: Server) -> None:
    served = httpx.get(server.url + "/openapi.json").json()
    assert served == json.loads(SCHEMA.read_text(encoding="utf-8")), (
        "the API changed: regenerate docs/keyservice-openapi.json "
        "(python -m vaultkit.service.schema > docs/keyservice-openapi.json)"
    )


def _poll(check, limit: float = SEEN_WITHIN) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``check()`` is true, polling; fails past ``limit``."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < limit, f"not seen within {limit} s"
    return time.monotonic() - start


def test_rotation_and_destroy_by_the_cli_are_seen_within_a_second(
    server: Server, principals: Principals, ring_path: Path
) -> None:
    env = env_for(ring_path)
    with RemoteVault(server.url, token=principals.tokens["app"]) as remote:
        old = remote.encrypt("c.name", "张三", context=CTX)
        assert inspect(old).version == 1
        ok(vk("key", "rotate", "c.name", env=env))
        _poll(lambda: inspect(remote.encrypt("c.name", "x", context=CTX)).version == 2)
        assert remote.decrypt_text(old, context=CTX) == "张三"  # v1 still decrypts

        ok(vk("key", "retire", "c.name", "--version", "1", "--yes", env=env))
        ok(vk("key", "destroy", "c.name", "--version", "1", "--force", "--yes", env=env))

        def destroyed() -> bool:
            try:
                remote.decrypt(old, context=CTX, force=True)
            except DecryptionError:
                return True
            return False

        _poll(destroyed)


def test_grant_changes_are_seen_within_a_second(
    server: Server, principals: Principals, ring_path: Path
) -> None:
    from tests.service.conftest import open_ring

    with RemoteVault(server.url, token=principals.tokens["teller"], retries=0) as teller:
        with pytest.raises(PermissionError):
            teller.encrypt("c.name", "x", context=CTX)
        ring = open_ring(ring_path)
        ring.grant("teller", keys="c.*", operations={"encrypt"})
        ring.close()

        def allowed() -> bool:
            try:
                teller.encrypt("c.name", "x", context=CTX)
            except PermissionError:
                return False
            return True

        _poll(allowed)


def test_sigterm_drains_the_request_in_flight(
    ring_path: Path, principals: Principals, tmp_path: Path
) -> None:
    s = Server(ring_path, tmp_path)
    try:
        url = urlsplit(s.url)
        body = json.dumps(
            {
                "key": "c.card",
                "values": ["6222020200112233446"] * 1000,
                "format": "card",
                "context": CTX,
            }
        ).encode()
        head = (
            f"POST /v1/tokenize/batch HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {principals.tokens['app']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection((url.hostname, url.port)) as sock:
            sock.sendall(head + body[:100])  # in flight: the body is not complete

            def in_flight() -> bool:
                text = httpx.get(s.url + "/metrics").text
                return "vaultkit_requests_in_flight 1" in text

            _poll(in_flight, 30)
            s.proc.send_signal(15)  # SIGTERM while the request is being received
            sock.sendall(body[100:])
            reply = b""
            while chunk := sock.recv(65536):  # the server closes after answering (draining)
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        assert s.proc.wait(timeout=60) == 0
    finally:
        s.stop()


def test_cli_issued_token_works_and_its_revocation_is_seen_within_a_second(
    server: Server, ring_path: Path
) -> None:
    env = env_for(ring_path)
    token = ok(vk("principal", "token", "app", env=env)).strip()
    with RemoteVault(server.url, token=token, retries=0) as remote:
        assert remote.decrypt_text(remote.encrypt("c.name", "x", context=CTX), context=CTX) == "x"
        ok(vk("revoke", "app", "--tokens", env=env))

        def refused() -> bool:
            try:
                remote.encrypt("c.name", "x", context=CTX)
            except PermissionError as exc:
                return "token" in str(exc)
            return False

        _poll(refused)
