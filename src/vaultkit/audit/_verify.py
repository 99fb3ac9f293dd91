"""Verify a trail: every record canonical, in sequence, chained and sealed; the head matched."""

from __future__ import annotations

from dataclasses import dataclass

from vaultkit.audit._record import GENESIS, head_ok, parse, parse_head, seal_ok, stored_ok
from vaultkit.audit._sink import Sink
from vaultkit.audit._trail import DEFAULT_KEY, audit_key
from vaultkit.errors import VaultkitError
from vaultkit.keys import KeyRing


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`: ``ok``, the records checked, the first bad sequence
    number (``None`` when intact) and why."""

    ok: bool
    count: int
    last_seq: int
    first_bad: int | None = None
    reason: str = ""


def verify_sink(
    sink: Sink, ring: KeyRing, *, head: str | None = None, key_name: str = DEFAULT_KEY
) -> Verification:
    keys: dict[int, bytes | None] = {}

    def key(kv: int) -> bytes | None:
        if kv not in keys:
            try:
                keys[kv] = audit_key(ring, key_name, kv)[1]
            except VaultkitError:
                keys[kv] = None
        return keys[kv]

    expected, digest, count = 1, GENESIS, 0

    def bad(reason: str) -> Verification:
        return Verification(False, count, expected - 1, expected, reason)

    for line in sink.lines():
        try:
            rec = parse(line)
        except (ValueError, TypeError):
            return bad("not a well-formed audit record")
        if rec.seq != expected:
            return bad(f"record {expected} missing or out of order (found {rec.seq})")
        k = key(rec.kv)
        if k is None:
            return bad(f"sealed under audit key version {rec.kv}, which the ring cannot give")
        if not seal_ok(k, rec) or not stored_ok(line, rec):
            return bad("the seal does not verify (modified or forged)")
        if rec.prev != digest:
            return bad("does not chain to the previous record")
        digest, count, expected = rec.digest, count + 1, expected + 1
    last = expected - 1
    stored = sink.head()
    for what, value in (("stored head", stored), ("given head", head)):
        if value is None:
            continue
        try:
            seq, hdigest, kv, _ = parse_head(value)
        except ValueError:
            return Verification(False, count, last, last + 1, f"the {what} is malformed")
        k = key(kv)
        if k is None or not head_ok(k, value):
            return Verification(False, count, last, last + 1, f"the {what}'s seal does not verify")
        if seq > last:
            return Verification(
                False, count, last, last + 1, f"the trail ends at {last}; the {what} says {seq}"
            )
        if seq == last and hdigest != digest:
            return Verification(False, count, last, last, f"record {last} differs from the {what}")
        if seq < last:  # a stored head may lag by one batch (a crash before it was replaced)
            # a record recorded by the operator must still be there unchanged
            found = _digest_at(sink, seq)
            if found != hdigest:
                return Verification(False, count, last, seq, f"record {seq} differs from the head")
    return Verification(True, count, last)


def _digest_at(sink: Sink, seq: int) -> str | None:
    for line in sink.lines():
        rec = parse(line)
        if rec.seq == seq:
            return rec.digest
    return None
