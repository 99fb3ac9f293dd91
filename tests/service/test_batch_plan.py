"""Where RemoteVault cuts a batch (:func:`vaultkit._remote.batches.plan`), on small limits: parts
cover the batch in order, each body as sent (UTF-8, or escaped when a lone surrogate forces it)
within the byte limit and as full as it can be, and a value alone over the limit is refused
naming the limit and its position, not the value."""

from __future__ import annotations

import random

import pytest

from vaultkit._remote.batches import body_of, encode_json, plan
from vaultkit.errors import InputFormatError

HEAD = {"key": "c.name", "context": {"table": "客户"}, "encoding": "utf-8", "contexts": None}


def _check(columns: dict[str, list[object]], max_items: int, max_bytes: int) -> int:
    n = len(next(iter(columns.values())))
    parts = plan(HEAD, columns, n, max_items=max_items, max_bytes=max_bytes)
    assert [p[0] for p in parts] == [0] + [p[1] for p in parts[:-1]] and parts[-1][1] == n
    for start, stop in parts:
        assert 0 < stop - start <= max_items
        assert len(encode_json(body_of(HEAD, columns, start, stop))) <= max_bytes
        if stop < n and stop - start < max_items:  # cut by bytes: one more item would not fit
            assert len(encode_json(body_of(HEAD, columns, start, stop + 1))) > max_bytes
    return len(parts)


@pytest.mark.parametrize("max_bytes", [700, 5_000, 100_000])
def test_parts_are_in_order_within_both_limits_and_full(max_bytes: int) -> None:
    rng = random.Random(7)
    texts: list[object] = ["名" * rng.randint(0, 150) + '"\n\x01' for _ in range(3_000)]
    contexts: list[object] = [{"row": str(i), "b": {"base64": "AAEC"}} for i in range(3_000)]
    assert _check({"plaintexts": texts}, 400, max_bytes) > 1
    assert _check({"plaintexts": texts, "contexts": contexts}, 400, max_bytes) > 1


def test_a_lone_surrogate_counts_the_escaped_form() -> None:
    texts: list[object] = ["名字" * 50 for _ in range(500)]
    texts[123] = "\ud800" + "名" * 10  # the part holding it is sent escaped: 6 bytes a character
    assert _check({"plaintexts": texts}, 10_000, 4_000) > 1


def test_one_part_when_under_both_limits() -> None:
    texts: list[object] = ["x" * 10] * 100
    assert plan(HEAD, {"values": texts}, 100, max_items=100, max_bytes=10_000) == [(0, 100)]
    assert plan(HEAD, {"values": []}, 0) == []


def test_a_value_alone_over_the_limit_is_refused_naming_the_limit_not_the_value() -> None:
    texts: list[object] = ["short"] * 10
    texts[7] = "6222020200112233446" * 100
    with pytest.raises(InputFormatError) as caught:
        plan(HEAD, {"values": texts}, 10, max_items=5, max_bytes=1_000)
    assert "1000 bytes" in str(caught.value) and "item 7" in str(caught.value)
    assert "6222020200" not in str(caught.value)
