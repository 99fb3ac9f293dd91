"""``row_key_shown``: how an error message names a row key (columns/_context.py)."""

from __future__ import annotations

import uuid

from vaultkit.columns import row_key
from vaultkit.columns._context import row_key_shown


def test_surrogate_keys_are_shown_as_they_are() -> None:
    u = uuid.UUID(int=7)
    assert row_key_shown([42]) == row_key([42]) == "42"
    assert row_key_shown([u]) == str(u)


def test_natural_keys_keep_their_last_4_characters_only() -> None:
    assert row_key_shown(["6222021234567890123"]) == "*" * 15 + "0123"
    assert row_key_shown(["110105"]) == "******"  # shorter than 8: nothing shown
    assert row_key_shown([True]) == "****"  # a bool is not a surrogate key
    assert row_key_shown([b"\x01\x02\x03\x04"]) == "****0304"


def test_compound_keys_mask_each_part() -> None:
    assert row_key_shown([3, "13800138000"]) == '["3", "*******8000"]'
