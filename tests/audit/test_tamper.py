"""Every kind of tampering with a file or database trail is caught by ``verify``, which names
the first bad sequence number; a record forged without the audit key is caught."""

from __future__ import annotations

import json

import pytest

from tests.audit import _tamper
from vaultkit import Vault
from vaultkit.audit import Trail, verify
from vaultkit.audit._record import make
from vaultkit.keys import KeyRing

N = 8


@pytest.fixture
def trail_target(target: str, ring: KeyRing) -> str:
    with Trail.open(target, ring, principal="teller") as trail, Vault(ring, audit=trail) as v:
        ct = v.encrypt("customers.id_no", b"110101199003074477", context={"t": "c"})
        for _ in range(N - 1):
            assert v.decrypt(ct, context={"t": "c"}) == b"110101199003074477"
    return target


def test_an_untouched_trail_verifies(trail_target: str, ring: KeyRing) -> None:
    result = verify(trail_target, ring)
    assert result.ok and result.count == N and result.last_seq == N
    records = [json.loads(line) for line in _tamper.lines(trail_target)]
    assert [r["seq"] for r in records] == list(range(1, N + 1))
    assert records[1]["operation"] == "decrypt" and records[1]["context"] == ["t"]
    assert records[1]["principal"] == "teller" and records[1]["outcome"] == "ok"
    assert "110101" not in "".join(_tamper.lines(trail_target))  # no value, no context value


def test_a_modified_byte_is_caught(trail_target: str, ring: KeyRing) -> None:
    lines = _tamper.lines(trail_target)
    lines[3] = lines[3].replace('"teller"', '"tellex"')
    _tamper.rewrite(trail_target, lines)
    result = verify(trail_target, ring)
    assert not result.ok and result.first_bad == 4


def test_a_deleted_record_is_caught(trail_target: str, ring: KeyRing) -> None:
    lines = _tamper.lines(trail_target)
    del lines[4]
    _tamper.rewrite(trail_target, lines)
    result = verify(trail_target, ring)
    assert not result.ok and result.first_bad == 5


def test_two_swapped_records_are_caught(trail_target: str, ring: KeyRing) -> None:
    lines = _tamper.lines(trail_target)
    lines[2], lines[3] = lines[3], lines[2]
    _tamper.rewrite(trail_target, lines)
    result = verify(trail_target, ring)
    assert not result.ok and result.first_bad == 3


def test_an_inserted_forged_record_is_caught(trail_target: str, ring: KeyRing) -> None:
    lines = _tamper.lines(trail_target)
    prev = json.loads(lines[1])
    # a well-formed record chained to record 2, sealed under a key that is not the audit key
    fields = {k: v for k, v in prev.items() if k not in ("seal", "seq", "prev")}
    from vaultkit.audit._record import parse

    forged = make(b"k" * 32, **{**fields, "seq": 3, "prev": parse(lines[1]).digest})
    lines.insert(2, forged.to_json())
    _tamper.rewrite(trail_target, lines)
    result = verify(trail_target, ring)
    assert not result.ok and result.first_bad == 3 and "seal" in result.reason


def test_a_forged_record_appended_without_the_key_is_caught(
    trail_target: str, ring: KeyRing
) -> None:
    from vaultkit.audit._record import parse

    lines = _tamper.lines(trail_target)
    last = parse(lines[-1])
    fields = {k: v for k, v in json.loads(lines[-1]).items() if k not in ("seal", "seq", "prev")}
    lines.append(make(b"k" * 32, **{**fields, "seq": N + 1, "prev": last.digest}).to_json())
    _tamper.rewrite(trail_target, lines)
    result = verify(trail_target, ring)
    assert not result.ok and result.first_bad == N + 1


def test_a_truncated_tail_is_caught_by_the_stored_head(trail_target: str, ring: KeyRing) -> None:
    lines = _tamper.lines(trail_target)
    _tamper.rewrite(trail_target, lines[:-2])
    result = verify(trail_target, ring)
    assert not result.ok and result.first_bad == N - 1 and "head" in result.reason


def test_a_truncated_tail_with_an_old_head_is_caught_by_the_recorded_head(
    trail_target: str, ring: KeyRing
) -> None:
    lines = _tamper.lines(trail_target)
    recorded = _tamper.head(trail_target)  # what the operator wrote down
    assert recorded is not None and recorded.startswith(f"{N}:")
    # the attacker cuts the tail and puts back a head genuinely sealed earlier
    _tamper.rewrite(trail_target, lines[:-2])
    _tamper.set_head(trail_target, _head_at(trail_target, ring, N - 2))
    assert verify(trail_target, ring).ok  # consistent on its own ...
    result = verify(trail_target, ring, head=recorded)  # ... but not with the recorded head
    assert not result.ok and result.first_bad == N - 1


def test_a_trail_that_grew_past_the_recorded_head_verifies(
    trail_target: str, ring: KeyRing
) -> None:
    recorded = _tamper.head(trail_target)
    assert recorded is not None
    with Trail.open(trail_target, ring) as trail:
        trail.record_key_operation("key rotate", "customers.id_no", 2, principal="ops")
    assert verify(trail_target, ring, head=recorded).ok  # the trail grew: fine


def test_a_forged_head_is_caught(trail_target: str, ring: KeyRing) -> None:
    recorded = _tamper.head(trail_target)
    assert recorded is not None
    seq, digest, kv, mac = recorded.split(":")
    _tamper.set_head(trail_target, f"{int(seq) + 5}:{digest}:{kv}:{mac}")
    result = verify(trail_target, ring)
    assert not result.ok and "seal" in result.reason


def _head_at(target: str, ring: KeyRing, seq: int) -> str:
    """The head value genuinely sealed for record ``seq`` (as an old copy of the head had)."""
    from vaultkit.audit._record import head_value, parse
    from vaultkit.audit._trail import audit_key

    rec = parse(_tamper.lines(target)[seq - 1])
    kv, key = audit_key(ring, "vaultkit.audit")
    return head_value(key, kv, rec.seq, rec.digest)
