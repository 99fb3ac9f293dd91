"""One audit record: its fields, canonical bytes, chain hash (SM3) and seal (HMAC-SM3).

A record never holds a plaintext, a ciphertext, a context *value* or key material: the context
is recorded by its keys only. The chain: ``prev`` is the SM3 hash (GB/T 32905-2016) of the
previous record's canonical bytes, seal included; ``seal`` is HMAC-SM3 (GM/T 0042-2015) under the
audit key version ``kv`` of the canonical bytes without the seal. A record cannot be changed,
removed, inserted or moved without breaking a hash or a seal, and cannot be forged without the
audit key.
"""

from __future__ import annotations

import hmac as _hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from vaultkit.hazmat.hashes import hmac_sm3, sm3

GENESIS = "0" * 64  # ``prev`` of record 1
OUTCOMES = frozenset({"ok", "denied", "error"})
_FIELDS = (
    "seq",
    "time",
    "principal",
    "host",
    "pid",
    "operation",
    "key",
    "version",
    "count",
    "context",
    "outcome",
    "prev",
    "kv",
    "seal",
)
_HEAD_LABEL = b"vaultkit audit head v1\x00"


@dataclass(frozen=True)
class AuditRecord:
    """A sealed audit record as stored (one JSON line, or one table row)."""

    seq: int
    time: str  # UTC, ISO 8601 with microseconds and "Z"
    principal: str | None
    host: str
    pid: int
    operation: str
    key: str | None
    version: int | None
    count: int
    context: tuple[str, ...]  # the context's keys, never its values
    outcome: str  # "ok", "denied" or "error"
    prev: str  # hex SM3 of the previous record
    kv: int  # the audit key version that sealed it
    seal: str  # hex HMAC-SM3

    def fields(self) -> dict[str, object]:
        """The fields by name (a shallow copy: every value is immutable; ``dataclasses.asdict``
        deep-copies, which cost more than the record's fsync on a fast disk)."""
        return {name: getattr(self, name) for name in _FIELDS}

    def to_json(self) -> str:
        """The canonical JSON text (sorted keys, no spaces): what is stored and hashed."""
        return self._json

    @cached_property
    def _json(self) -> str:  # a record is written, hashed and chained: encoded once
        return canonical(self.fields())

    @cached_property
    def digest(self) -> str:
        """The hex SM3 of the canonical bytes: the next record's ``prev``."""
        return sm3(self.to_json().encode()).hex()


def canonical(fields: Mapping[str, object]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def seal(key: bytes, fields: Mapping[str, object]) -> str:
    """HMAC-SM3 of the canonical JSON of ``fields`` without ``seal``."""
    body = {k: v for k, v in fields.items() if k != "seal"}
    return hmac_sm3(key, canonical(body).encode()).hex()


def make(seal_key: bytes, /, **fields: Any) -> AuditRecord:
    """A record of ``fields`` (every field but ``seal``) sealed under ``seal_key``."""
    fields["context"] = tuple(fields["context"])
    body = dict(fields, context=list(fields["context"]))
    return AuditRecord(**fields, seal=seal(seal_key, body))


def parse(line: str | bytes) -> AuditRecord:
    """The record a stored line holds; ``ValueError`` when it is not one (malformed, a field
    missing or extra, a wrong type)."""
    obj = json.loads(line)
    if not isinstance(obj, dict) or set(obj) != set(_FIELDS):
        raise ValueError("not an audit record")
    if not isinstance(obj["seq"], int) or not isinstance(obj["context"], list):
        raise ValueError("not an audit record")
    obj["context"] = tuple(obj["context"])
    return AuditRecord(**obj)


def seal_ok(key: bytes, record: AuditRecord) -> bool:
    fields = record.fields()
    fields["context"] = list(record.context)
    return _hmac.compare_digest(seal(key, fields), record.seal)


def stored_ok(line: str, record: AuditRecord) -> bool:
    """Whether ``line`` is exactly the canonical form of ``record`` (no byte added or changed
    outside what the seal covers, e.g. whitespace or key order)."""
    return line == record.to_json()


# -- the sealed head -----------------------------------------------------------------------------
def head_value(key: bytes, kv: int, seq: int, digest: str) -> str:
    """``SEQ:SM3:KV:SEAL``: the last sequence number and hash, sealed under the audit key."""
    mac = hmac_sm3(key, _HEAD_LABEL + f"{seq}:{digest}:{kv}".encode()).hex()
    return f"{seq}:{digest}:{kv}:{mac}"


def parse_head(value: str) -> tuple[int, str, int, str]:
    """``(seq, digest, kv, seal)`` of a head value; ``ValueError`` when malformed."""
    parts = value.strip().split(":")
    if len(parts) != 4 or len(parts[1]) != 64 or len(parts[3]) != 64:
        raise ValueError("a head is SEQ:SM3:KV:SEAL")
    int(parts[1], 16), int(parts[3], 16)
    return int(parts[0]), parts[1], int(parts[2]), parts[3]


def head_ok(key: bytes, value: str) -> bool:
    seq, digest, kv, _ = parse_head(value)
    return _hmac.compare_digest(head_value(key, kv, seq, digest), value.strip())
