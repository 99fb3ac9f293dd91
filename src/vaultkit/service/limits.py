"""The key service's request limits: batch size (items and bytes) and the refusal they cause.

A batch request carries at most :data:`MAX_ITEMS` values and its body at most :data:`MAX_BYTES`;
larger requests are refused with ``413 Payload Too Large`` naming the limit, before any value is
processed (the body is not even read past the limit). Clients split larger batches
(:class:`vaultkit.remote.RemoteVault` does). Rate limits are not here: they are per grant, in the
key ring (``ring.grant(..., max_per_minute=N)``), and refused with 429.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.types import Message, Receive

__all__ = [
    "MAX_BYTES",
    "MAX_ITEMS",
    "BodyTooLarge",
    "TooManyItems",
    "check_items",
    "limited_receive",
]

MAX_ITEMS = 10_000
MAX_BYTES = 8 * 1024 * 1024


class TooManyItems(Exception):
    """A batch of more than :data:`MAX_ITEMS` values."""

    def __init__(self, count: int, limit: int = MAX_ITEMS) -> None:
        self.rule = f"a batch holds at most {limit} items (this one: {count}); split it"
        super().__init__(self.rule)


class BodyTooLarge(Exception):
    """A request body over :data:`MAX_BYTES`."""

    def __init__(self, limit: int = MAX_BYTES) -> None:
        self.rule = f"a request body is at most {limit} bytes; split the batch"
        super().__init__(self.rule)


def check_items(count: int, limit: int = MAX_ITEMS) -> None:
    """Refuse a batch of more than ``limit`` values (:class:`TooManyItems`)."""
    if count > limit:
        raise TooManyItems(count, limit)


def limited_receive(receive: Receive, limit: int = MAX_BYTES) -> Receive:
    """``receive`` that raises :class:`BodyTooLarge` once the body passes ``limit`` bytes
    (a chunked body, or one longer than its ``Content-Length`` said)."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return wrapped
