"""Encoded contexts for the Vault: the last plain ``dict`` and its encoding are remembered, so
a caller that repeats its context (one column, many rows) encodes it once."""

from __future__ import annotations

from collections.abc import Sequence

from vaultkit.envelope import encode_context
from vaultkit.envelope._internal import Context, encode_contexts
from vaultkit.errors import VaultkitTypeError

__all__ = ["ContextMemo", "batch_contexts"]

_EMPTY: tuple[dict[str, str | bytes], bytes] = ({}, encode_context({}))


class ContextMemo:
    """``encode_context`` remembering the last plain ``dict``, compared by value (a caller that
    mutates its dict between calls gets the new encoding). ``last`` is ``(a copy of the dict,
    its encoding)``: the Vault's per-field paths read it inline."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = _EMPTY

    def encode(self, context: Context) -> bytes:
        last = self.last
        if context.__class__ is dict and last[0] == context:
            return last[1]
        out = encode_context(context)
        # remembered only with immutable values: a bytearray changed in place would still
        # compare equal to the copy (the same object) and get the old encoding
        if context.__class__ is dict and all(
            v.__class__ is str or v.__class__ is bytes for v in context.values()
        ):
            self.last = (dict(context), out)
        return out

    def reset(self) -> None:
        self.last = _EMPTY


def batch_contexts(
    n: int, context: Context | None, contexts: Sequence[Context] | None
) -> bytes | list[bytes]:
    """The encoded context of a batch of ``n`` items: one shared (``context``) or one per item
    (``contexts``); exactly one of them is given."""
    if (context is None) == (contexts is None):
        raise VaultkitTypeError("give exactly one of context= (shared) or contexts= (per item)")
    if context is not None:
        return encode_context(context)
    assert contexts is not None
    if len(contexts) != n:
        raise VaultkitTypeError(f"{len(contexts)} contexts for {n} items")
    return encode_contexts(contexts)
