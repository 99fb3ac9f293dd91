"""Batches over the service's body limit (``MAX_BYTES``, 8 MiB) through a real ``vaultkit serve``:
RemoteVault sends each ``*_many`` kind in parts whose bodies stay under the limit, in order, and
answers what the in-process Vault answers; a value too large for any request is refused before
anything is sent, naming the limit and not the value; a part refused mid-batch raises as one
request would (nothing returned, a failing item numbered in the whole batch)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.service.conftest import Server
from vaultkit.errors import DecryptionError, InputFormatError
from vaultkit.remote import RemoteVault
from vaultkit.service.limits import MAX_BYTES, MAX_ITEMS
from vaultkit.vault import Vault

CTX = {"table": "customers", "column": "notes"}
N = 9_000  # under MAX_ITEMS: only the byte limit makes these batches split
assert N < MAX_ITEMS


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """``(path, body size)`` of every request a RemoteVault's HTTP client posts in the test."""
    seen: list[tuple[str, int]] = []
    post = httpx.Client.post

    def spy(self: httpx.Client, url: str, *, content: bytes, **kw: object) -> httpx.Response:
        seen.append((url, len(content)))
        return post(self, url, content=content, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.Client, "post", spy)
    yield seen


def _split(sent: list[tuple[str, int]], path: str) -> None:
    """The batch went as several requests to ``path``, every body within the limit."""
    sizes = [size for p, size in sent if p == path]
    assert len(sizes) >= 2, sizes
    assert all(size <= MAX_BYTES for size in sizes), sizes
    assert sum(sizes) > MAX_BYTES
    sent.clear()


def _texts(width: int) -> list[str]:
    """N distinct texts of about ``width`` characters (the index first: order is checked)."""
    return [f"{i:05d}:" + "张三 note " * (width // 8) for i in range(N)]


def test_encrypt_and_decrypt_batches_over_the_byte_limit(
    remote: RemoteVault, local: Vault, sent: list[tuple[str, int]]
) -> None:
    texts = _texts(1000)  # ~1.9 KB of UTF-8 each: ~17 MB in all
    cts = remote.encrypt_many("c.name", texts, context=CTX)
    _split(sent, "/v1/encrypt/batch")
    assert local.decrypt_text_many(cts, context=CTX) == texts
    raw = [t.encode() for t in texts]
    text_form = remote.encrypt_text_many("c.name", raw, context=CTX)  # bytes: sent as base64
    _split(sent, "/v1/encrypt/batch")
    assert local.decrypt_many(text_form, context=CTX) == raw
    # what the in-process Vault made, read back through the service in parts
    made = local.encrypt_many("c.name", texts, context=CTX)
    assert remote.decrypt_many(made, context=CTX) == local.decrypt_many(made, context=CTX) == raw
    _split(sent, "/v1/decrypt/batch")
    assert remote.decrypt_text_many(made, context=CTX) == texts
    _split(sent, "/v1/decrypt/batch")
    masked = remote.decrypt_masked_many(made, context=CTX, kind="address")
    _split(sent, "/v1/decrypt-masked/batch")
    assert masked == local.decrypt_masked_many(made, context=CTX, kind="address")


def test_per_item_contexts_count_in_the_body(
    remote: RemoteVault, local: Vault, sent: list[tuple[str, int]]
) -> None:
    texts = _texts(300)
    contexts = [{"table": "customers", "row": f"{i:05d}" + "r" * 600} for i in range(N)]
    cts = remote.encrypt_many("c.name", texts, contexts=contexts)
    _split(sent, "/v1/encrypt/batch")
    assert local.decrypt_text_many(cts, contexts=contexts) == texts
    assert remote.decrypt_text_many(cts, contexts=contexts) == texts
    _split(sent, "/v1/decrypt/batch")


def test_token_batches_over_the_byte_limit(
    remote: RemoteVault, local: Vault, sent: list[tuple[str, int]]
) -> None:
    # account numbers of 940 digits: ~8.5 MB of JSON in all (FF1 takes any length of digits)
    values = [f"{i:05d}" + "6222020200112233446" * 49 for i in range(N)]
    tokens = remote.tokenize_many("c.card", values, format="account_no", context=CTX)
    _split(sent, "/v1/tokenize/batch")
    assert tokens == local.tokenize_many("c.card", values, format="account_no", context=CTX)
    assert remote.detokenize_many("c.card", tokens, format="account_no", context=CTX) == values
    _split(sent, "/v1/detokenize/batch")
    masked = remote.detokenize_masked_many("c.card", tokens, format="account_no", context=CTX)
    _split(sent, "/v1/detokenize-masked/batch")
    assert masked == local.detokenize_masked_many(
        "c.card", tokens, format="account_no", context=CTX
    )


def test_blind_index_batch_over_the_byte_limit(
    remote: RemoteVault, local: Vault, sent: list[tuple[str, int]]
) -> None:
    values: list[object] = [t.encode() for t in _texts(600)]  # bytes: sent as base64
    got = remote.blind_index_many("c.bidx", values, context=CTX, bits=32)
    _split(sent, "/v1/blind-index/batch")
    assert got == local.blind_index_many("c.bidx", values, context=CTX, bits=32)


def test_a_value_alone_over_the_limit_is_refused_before_anything_is_sent(
    remote: RemoteVault, server: Server, sent: list[tuple[str, int]]
) -> None:
    secret = "6222020200112233446" * (MAX_BYTES // 19 + 1)
    values = ["small"] * (MAX_ITEMS + 5)
    values[MAX_ITEMS + 3] = secret  # in the second part: the first part is not sent either
    with pytest.raises(InputFormatError) as caught:
        remote.encrypt_many("c.name", values, context=CTX)
    message = str(caught.value)
    assert str(MAX_BYTES) in message and f"item {MAX_ITEMS + 3}" in message
    assert "6222020200" not in message and caught.value.masked_value is None
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert sent == []
    # a single call with a value over the limit: the same refusal, not a 413 from the service
    with pytest.raises(InputFormatError) as single:
        remote.encrypt("c.name", secret, context=CTX)
    assert str(MAX_BYTES) in str(single.value) and "6222020200" not in str(single.value)
    assert sent == []
    assert not [r for r in server.records() if '"encrypt' in r]


def test_a_part_refused_mid_batch_raises_with_the_item_numbered_in_the_whole_batch(
    remote: RemoteVault, local: Vault, sent: list[tuple[str, int]]
) -> None:
    texts = _texts(1000)
    made = local.encrypt_many("c.name", texts, context=CTX)
    bad = N - 2  # in the last part
    made[bad] = made[bad][:-1] + bytes([made[bad][-1] ^ 1])
    with pytest.raises(DecryptionError) as in_process:
        local.decrypt_many(made, context=CTX)
    with pytest.raises(DecryptionError) as through_service:
        remote.decrypt_many(made, context=CTX)
    assert through_service.value.where == in_process.value.where == f"item {bad}"
    assert len([p for p, _ in sent if p == "/v1/decrypt/batch"]) >= 2
