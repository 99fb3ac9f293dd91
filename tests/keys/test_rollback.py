"""Rollback detection (issue 12): a monotonic generation in the store and an anchor outside it,
in the real SoftHSM2 token. A copy of an older store put back is refused on open and reload."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

import pytest

from vaultkit.errors import KeyStoreError
from vaultkit.keys import PKCS11KMS, Anchor, KeyRing, PKCS11Anchor

from .conftest import local_kms


@pytest.fixture
def token_anchor(softhsm: dict[str, str]) -> PKCS11Anchor:
    kms = PKCS11KMS(
        module=softhsm["module"],
        token_label=softhsm["token_label"],
        pin=softhsm["pin"],
        key_label="anchor-" + secrets.token_hex(4),
    )
    return PKCS11Anchor(kms)


def _put_back(path: Path, old: bytes) -> None:
    path.write_bytes(old)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1000))  # a new stamp: readers reload


def test_generation_grows_with_every_write(ring: KeyRing, ring_path: Path) -> None:
    first = ring.store_generation
    ring.create_key("k")
    ring.rotate_key("k")
    assert ring.store_generation == first + 2
    assert json.loads(ring_path.read_text())["body"]["generation"] == first + 2


def test_an_older_copy_is_refused_with_a_token_anchor(
    ring_path: Path, token_anchor: PKCS11Anchor
) -> None:
    assert isinstance(token_anchor, Anchor)
    ring = KeyRing.create(ring_path, local_kms(), anchor=token_anchor)
    ring.create_key("k")
    yesterday = ring_path.read_bytes()
    ring.rotate_key("k")
    ring.retire_version("k", 1)
    assert token_anchor.read(ring.ring_id) == ring.store_generation
    ring.close()
    _put_back(ring_path, yesterday)
    with pytest.raises(KeyStoreError, match="rolled back"):
        KeyRing.open(ring_path, local_kms(), anchor=token_anchor)
    # without the anchor the copy opens: LocalKMS alone cannot detect a rollback (documented)
    KeyRing.open(ring_path, local_kms()).close()


def test_a_running_ring_refuses_a_copy_put_back_under_it(
    ring_path: Path, token_anchor: PKCS11Anchor
) -> None:
    ring = KeyRing.create(ring_path, local_kms(), anchor=token_anchor)
    ring.create_key("k")
    current = ring_path.read_bytes()
    yesterday_ring = ring_path.with_name("yesterday.json")
    yesterday_ring.write_bytes(current)
    # another process (another ring object, same anchor) writes meanwhile
    with KeyRing.open(ring_path, local_kms(), anchor=token_anchor) as other:
        other.rotate_key("k")
    assert ring.key_info("k").primary_version == 2  # reloaded, anchor advanced
    _put_back(ring_path, yesterday_ring.read_bytes())
    with pytest.raises(KeyStoreError, match="rolled back"):
        ring.keys()
    with pytest.raises(KeyStoreError, match="rolled back"):
        ring.reload()
    ring.close()


def test_a_ring_object_notices_a_rollback_even_without_an_anchor(
    ring: KeyRing, ring_path: Path
) -> None:
    ring.create_key("k")
    old = ring_path.read_bytes()
    ring.rotate_key("k")
    _put_back(ring_path, old)
    with pytest.raises(KeyStoreError, match="rolled back"):
        ring.keys()


def test_anchor_catches_up_after_a_crash_between_store_and_anchor(
    ring_path: Path, token_anchor: PKCS11Anchor
) -> None:
    ring = KeyRing.create(ring_path, local_kms())  # written without the anchor
    ring.create_key("k")
    ring.close()
    assert token_anchor.read(ring.ring_id) is None
    with KeyRing.open(ring_path, local_kms(), anchor=token_anchor) as again:
        assert token_anchor.read(again.ring_id) == again.store_generation
    token_anchor.advance(ring.ring_id, 1)  # never lowers
    assert token_anchor.read(ring.ring_id) == 2
