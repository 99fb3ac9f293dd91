"""Refusals: 401 (no or wrong credentials), 403 (no grant), 429 (over the grant's rate), 413
(batch over the limits), 400 (body breaking the schema) -- each answered without echoing a value,
raised by RemoteVault as the in-process Vault raises, and each recorded in the audit trail."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.service.conftest import Principals, Server
from vaultkit.errors import AccessDeniedError, InputFormatError, RateLimitedError, VaultkitTypeError
from vaultkit.remote import RemoteVault

CTX = {"table": "customers"}
CARD = "6222020200112233446"


def _post(server: Server, token: str | None, path: str, body: object) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(server.url + path, content=content, headers=headers, timeout=60)


def _records(server: Server) -> list[dict]:
    return [json.loads(line) for line in server.records()]


def test_wrong_or_missing_token_is_401_and_audited(server: Server) -> None:
    body = {"key": "c.card", "value": CARD, "format": "card", "context": CTX}
    for token in (None, "not-a-token", "vkt_" + "A" * 43):
        r = _post(server, token, "/v1/tokenize", body)
        assert r.status_code == 401, r.text
        assert CARD not in r.text and r.json()["error"]["type"] == "AccessDeniedError"
    with RemoteVault(server.url, token="vk_wrong") as remote, pytest.raises(AccessDeniedError):
        remote.tokenize("c.card", CARD, format="card", context=CTX)
    denied = [r for r in _records(server) if r["outcome"] == "denied"]
    assert len(denied) == 4 and {r["operation"] for r in denied} == {"tokenize"}
    assert all(r["principal"] is None for r in denied)


def test_no_grant_is_403_and_audited(server: Server, principals: Principals) -> None:
    with RemoteVault(server.url, token=principals.tokens["teller"]) as teller:
        with pytest.raises(AccessDeniedError) as caught:
            teller.tokenize("c.card", CARD, format="card", context=CTX)
        assert not isinstance(caught.value, RateLimitedError)
        assert CARD not in str(caught.value) and "teller" in str(caught.value)
    with RemoteVault(server.url, token=principals.tokens["nobody"]) as nobody:
        with pytest.raises(AccessDeniedError):
            nobody.encrypt("c.name", "张三", context=CTX)
    denied = [
        (r["principal"], r["operation"]) for r in _records(server) if r["outcome"] == "denied"
    ]
    assert ("teller", "tokenize") in denied and ("nobody", "encrypt") in denied


def test_over_rate_is_429_and_audited(server: Server, principals: Principals) -> None:
    with RemoteVault(server.url, token=principals.tokens["limited"], retries=0) as limited:
        assert len(limited.tokenize_many("c.card", [CARD] * 5, format="card", context=CTX)) == 5
        with pytest.raises(RateLimitedError):
            limited.tokenize("c.card", CARD, format="card", context=CTX)
    r = _post(
        server,
        principals.tokens["limited"],
        "/v1/tokenize",
        {"key": "c.card", "value": CARD, "format": "card", "context": CTX},
    )
    assert r.status_code == 429 and CARD not in r.text
    denied = [
        r for r in _records(server) if r["principal"] == "limited" and r["outcome"] == "denied"
    ]
    assert len(denied) == 2


def test_oversize_batches_are_413(server: Server, principals: Principals) -> None:
    token = principals.tokens["app"]
    body = {"key": "c.card", "values": [CARD] * 10_001, "format": "card", "context": CTX}
    r = _post(server, token, "/v1/tokenize/batch", body)
    assert r.status_code == 413 and "10000 items" in r.json()["error"]["message"]
    assert CARD not in r.text
    big = {"key": "c.name", "plaintexts": ["x" * 1000] * 9000, "context": CTX}
    r = _post(server, token, "/v1/encrypt/batch", big)
    assert r.status_code == 413 and "8388608 bytes" in r.json()["error"]["message"]
    # a RemoteVault splits a batch over the item limit into requests under it
    with RemoteVault(server.url, token=token) as remote:
        assert len(remote.tokenize_many("c.card", [CARD] * 10_001, format="card", context=CTX)) == (
            10_001
        )
    errors = [r for r in _records(server) if r["outcome"] == "error"]
    assert {r["operation"] for r in errors} == {"tokenize", "encrypt"}


@pytest.mark.parametrize(
    ("path", "body", "rule"),
    [
        ("/v1/tokenize", b'{"key": "c.card", "value": "6222020200112233446"', "not valid JSON"),
        (
            "/v1/tokenize",
            {"key": "c.card", "value": 6222020200112233446, "format": "card", "context": {}},
            "body.value should be a valid string",
        ),
        (
            "/v1/tokenize",
            {
                "key": "c.card",
                "value": CARD,
                "format": "card",
                "context": {},
                "version": "6222020200112233446",
            },
            "body.version",
        ),
        (
            "/v1/tokenize",
            {"key": "c.card", "value": CARD, "format": "card"},
            "body.context is required",
        ),
        (
            "/v1/tokenize",
            {
                "key": "c.card",
                "value": CARD,
                "format": "card",
                "context": {},
                "6222020200112233446": 1,
            },
            "is not a field of this request",
        ),
        (
            "/v1/encrypt",
            {"key": "c.name", "plaintext": CARD, "context": {"row": 6222020200112233446}},
            "body.context.row",
        ),
        (
            "/v1/encrypt",
            {"key": "c.name", "plaintext": CARD, "encoding": "base64", "context": {}},
            "not valid base64",
        ),
    ],
)
def test_malformed_is_400_naming_the_rule_without_the_value(
    server: Server, principals: Principals, path: str, body: object, rule: str
) -> None:
    r = _post(server, principals.tokens["app"], path, body)
    assert r.status_code == 400, r.text
    assert rule in r.json()["error"]["message"], r.text
    assert "6222020200112233446" not in r.text and "0112233446" not in r.text
    assert _records(server)[-1]["outcome"] == "error"


def test_remote_vault_maps_input_errors(server: Server, principals: Principals) -> None:
    with RemoteVault(server.url, token=principals.tokens["app"]) as remote:
        with pytest.raises(InputFormatError) as caught:
            remote.tokenize("c.card", "6222020200112233445", format="card", context=CTX)
        assert "Luhn" in str(caught.value) and "6222020200112233445" not in str(caught.value)
        assert caught.value.rule.startswith("Luhn")
        with pytest.raises(VaultkitTypeError):
            remote.tokenize("c.card", CARD, format="card", context=CTX, version="1")  # type: ignore[arg-type]


def test_every_request_is_audited_once(server: Server, principals: Principals) -> None:
    before = len(server.records())
    made = 0
    with RemoteVault(server.url, token=principals.tokens["app"]) as remote:
        for _ in range(3):
            remote.encrypt("c.name", "x", context=CTX)
            remote.tokenize_many("c.card", [CARD] * 3, format="card", context=CTX)
            made += 2
    for token in ("bad", principals.tokens["teller"]):
        _post(
            server,
            token,
            "/v1/tokenize",
            {"key": "c.card", "value": CARD, "format": "card", "context": CTX},
        )
        made += 1
    assert len(server.records()) - before == made
