"""Rate limits (``max_per_minute``, items per minute per process): batches count their items,
an exceeded rate is refused with RateLimitedError (an AccessDeniedError naming the rate) and
recorded as ``denied``. No timing: the limits are far below what a minute allows."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from tests.access.conftest import kms
from vaultkit import Vault
from vaultkit.access import _limit
from vaultkit.errors import AccessDeniedError, RateLimitedError
from vaultkit.keys import KeyRing

CTX = {"table": "customers", "column": "id_no", "row": "1"}


@pytest.fixture(autouse=True)
def _fresh_counts() -> None:
    _limit.reset()


def test_single_calls_up_to_the_limit_then_refused(ring: KeyRing) -> None:
    ring.grant("app", keys="customers.*", operations={"encrypt", "decrypt"}, max_per_minute=5)
    events: list[Any] = []
    with Vault(ring, principal="app", audit=events.append) as v:
        for _ in range(5):
            v.encrypt("customers.id_no", "x", context=CTX)
        with pytest.raises(RateLimitedError) as info:
            v.encrypt("customers.id_no", "x", context=CTX)
    err = info.value
    assert isinstance(err, AccessDeniedError) and isinstance(err, PermissionError)
    assert err.max_per_minute == 5 and "5 items per minute" in str(err)
    assert (err.principal, err.operation, err.key) == ("app", "encrypt", "customers.id_no")
    assert [e.outcome for e in events] == ["ok"] * 5 + ["denied"]
    assert events[-1].principal == "app"


def test_batches_count_their_items(ring: KeyRing) -> None:
    ring.grant("app", keys="customers.*", operations={"encrypt", "decrypt"}, max_per_minute=10)
    with Vault(ring, principal="app") as v:
        cts = v.encrypt_many("customers.id_no", ["a"] * 4, context=CTX)  # 4
        assert v.decrypt_many(cts, context=CTX) == [b"a"] * 4  # 8
        with pytest.raises(RateLimitedError):
            v.decrypt_many(cts[:3], context=CTX)  # 11 > 10: refused, nothing counted
        v.decrypt_many(cts[:2], context=CTX)  # 10
        with pytest.raises(RateLimitedError):
            v.decrypt(cts[0], context=CTX)


def test_a_batch_larger_than_the_limit_never_passes(ring: KeyRing) -> None:
    ring.grant("app", keys="*", operations={"encrypt"}, max_per_minute=3)
    with Vault(ring, principal="app") as v, pytest.raises(RateLimitedError):
        v.encrypt_many("customers.id_no", ["a"] * 4, context=CTX)


def test_vaults_of_one_process_share_a_grants_count(ring: KeyRing, ring_path: Path) -> None:
    ring.grant("app", keys="*", operations={"encrypt"}, max_per_minute=2)
    with KeyRing.open(ring_path, kms()) as other:
        with Vault(ring, principal="app") as a, Vault(other, principal="app") as b:
            a.encrypt("customers.id_no", "x", context=CTX)
            b.encrypt("customers.id_no", "x", context=CTX)
            with pytest.raises(RateLimitedError):
                a.encrypt("customers.id_no", "x", context=CTX)


def test_limits_are_per_grant_and_per_principal(ring: KeyRing) -> None:
    ring.grant("app", keys="customers.*", operations={"encrypt"}, max_per_minute=1)
    ring.grant("app", keys="accounts.*", operations={"encrypt"})  # unlimited
    ring.grant("other", keys="*", operations={"encrypt"}, max_per_minute=1)
    with Vault(ring, principal="app") as v, Vault(ring, principal="other") as o:
        v.encrypt("customers.id_no", "x", context=CTX)
        with pytest.raises(RateLimitedError):
            v.encrypt("customers.phone", "x", context=CTX)
        for _ in range(20):
            v.encrypt("accounts.card_no", "x", context=CTX)
        o.encrypt("customers.id_no", "x", context=CTX)


def _encrypt_three(ring_path: str, queue: Any) -> None:
    with KeyRing.open(ring_path, kms()) as ring, Vault(ring, principal="app") as v:
        done = 0
        try:
            for _ in range(3):
                v.encrypt("customers.id_no", "x", context=CTX)
                done += 1
        except RateLimitedError:
            pass
        queue.put(done)


def test_the_count_is_per_process(ring: KeyRing, ring_path: Path) -> None:
    """Documented: each process counts its own calls (a limit across processes is the key
    service's). A child process starts with its own window."""
    ring.grant("app", keys="*", operations={"encrypt"}, max_per_minute=2)
    with Vault(ring, principal="app") as v:
        v.encrypt("customers.id_no", "x", context=CTX)
        v.encrypt("customers.id_no", "x", context=CTX)
        with pytest.raises(RateLimitedError):
            v.encrypt("customers.id_no", "x", context=CTX)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_encrypt_three, args=(str(ring_path), queue))
    child.start()
    child.join(60)
    assert queue.get(timeout=5) == 2  # its own limit, not the parent's spent one


def test_the_window_slides(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 60-second window, driven by a fake monotonic clock (no sleeping)."""
    now = [1000.0]
    monkeypatch.setattr(_limit.time, "monotonic", lambda: now[0])
    grant = ("ring", "app", "*")
    assert _limit.admit(grant, 3, 5)
    now[0] += 30
    assert _limit.admit(grant, 2, 5)
    assert not _limit.admit(grant, 1, 5)
    now[0] += 30  # the first 3 leave the window
    assert _limit.admit(grant, 3, 5)
    assert not _limit.admit(grant, 1, 5)
    now[0] += 30
    assert _limit.admit(grant, 2, 5)
