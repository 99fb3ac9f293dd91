"""The key store format of a KeyRing: named, versioned DEKs, openable by any of several KEKs.

Store file (UTF-8 JSON, one object), format 2::

    {"vaultkit_keyring": 2, "body": BODY, "mac": HEX, "signature": {...} (optional)}

``BODY`` holds ``ring_id`` (16 random bytes, hex), ``created``, ``generation`` (incremented by
every write: rollback detection, see :mod:`vaultkit.keys._anchor`), ``epoch`` (the number of the
current ring key), ``keks``, ``next_key_id``, ``keys`` and ``stream_keys`` (absent until the
first ring key rotation); ``access_control``, ``grants`` and ``tokens`` (absent until the
first grant or token, see :mod:`vaultkit.keys._ring_grants`). ``signature``: an operator's SM2
signature of ``BODY``, see :mod:`vaultkit.keys._store_signing`.

**Ring key.** A random 32-byte ring key ``RK`` protects everything; ``keks`` is a list of KEK
recipients, each ``{"name", "kms": public KMS state, "ring_key": RK wrapped by that KMS}`` with
associated data ``b"vaultkit ring key v2\x00" || ring_id || u32 epoch``. Any one KEK (a
passphrase, a key file, a PKCS#11 token, an SM2 private key) unwraps ``RK`` and opens the ring.
From ``RK`` (RFC 2104 HMAC as a PRF)::

    mac_key = HMAC-SHA256(RK, "vaultkit store mac v2")
    dek_key = HMAC-SM3(RK, "vaultkit dek wrap v2")[:16]

``mac = HMAC-SHA256(mac_key, b"vaultkit keyring v2\x00" || canonical(BODY))`` where
``canonical`` is JSON with sorted keys, no whitespace, ASCII only. Each DEK is wrapped as
``nonce (12) || SM4-GCM(dek_key, nonce, dek, AD)`` with ``AD = b"vaultkit dek v1\x00" || ring_id
|| u32 key_id || u32 version || u8 algorithm wire id || name``, so a wrapped key copied to
another entry does not unwrap. Any change to the body is refused with ``KeyStoreError``.

A fresh ring key (``epoch + 1``, every DEK rewrapped, so a fresh MAC key) is drawn by every KEK
rotation and every KEK removal: whoever held a removed or rotated-out KEK and kept an old copy
of the store knows the old ring key, and must neither forge a store the ring accepts nor
unwrap DEKs created afterwards. Adding a KEK wraps the current ring key for it.

**Stream keys.** Streams written with a key ring wrap their file key under the ring's stream key
``SK_e = HMAC-SM3(RK_e, "vaultkit stream wrap v1")[:16]`` of the current epoch ``e`` (see
:class:`vaultkit.stream._recipients.RingRecipient`), so every KEK of the ring reads them. A fresh
ring key keeps the earlier epochs' stream keys: ``stream_keys`` lists ``{"epoch", "wrapped"}``,
each wrapped like a DEK under the current ring key with ``AD = b"vaultkit stream key v1\x00" ||
ring_id || u32 epoch``. Whoever held a removed KEK knows the stream keys of the epochs it saw, not
those drawn after.

Format 1 (one KMS, no ring key: ``body.kms``, ``body.store_key`` wrapped by the KMS, DEKs
wrapped by the KMS, ``mac`` under the store key, label ``b"vaultkit keyring v1\x00"``) still
opens; the first write migrates it to format 2.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

from vaultkit.errors import (
    KeyStoreError,
    VaultkitTypeError,
)
from vaultkit.keys._kms import KMS, WrappedKey
from vaultkit.keys._model import Algorithm, KeyState
from vaultkit.keys._ring_doc import RingBody, VersionDoc

if TYPE_CHECKING:
    from vaultkit.hazmat import _fast

__all__ = ["DESTROY_GRACE"]

_FORMAT_V1 = 1
_FORMAT = 2
_MAC_LABEL_V1 = b"vaultkit keyring v1\x00"
_MAC_LABEL = b"vaultkit keyring v2\x00"
_STORE_KEY_AD = b"vaultkit store key v1\x00"  # format 1
_RING_KEY_AD = b"vaultkit ring key v2\x00"
_DEK_AD = b"vaultkit dek v1\x00"
_STREAM_KEY_AD = b"vaultkit stream key v1\x00"
_MAX_NAME = 200
_MAX_KEY_ID = 2**32 - 1
_MAX_KEKS = 32
_NONCE = 12
# seconds a version stays retired before destroy_version accepts it: the Vault's default
# DEK-cache lifetime (cache_ttl), the longest a process may hold a version it no longer should
DESTROY_GRACE = 300.0


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _canonical(body: RingBody) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _dek_ad(ring_id: bytes, name: str, key_id: int, version: int, alg: Algorithm) -> bytes:
    return (
        _DEK_AD + ring_id + struct.pack(">IIB", key_id, version, alg.wire_id) + name.encode("utf-8")
    )


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise VaultkitTypeError("a key name is a str")
    if not name or len(name) > _MAX_NAME or not name.isprintable() or name != name.strip():
        raise KeyStoreError(
            f"key names are 1-{_MAX_NAME} printable characters without surrounding spaces"
        )
    return name


def _rk_ad(ring_id: bytes, epoch: int) -> bytes:
    return _RING_KEY_AD + ring_id + struct.pack(">I", epoch)


def _wrap_rk(kms: KMS, rk: bytes, ring_id: bytes, epoch: int) -> WrappedKey:
    return kms.wrap(rk, associated_data=_rk_ad(ring_id, epoch))


def _stream_key_ad(ring_id: bytes, epoch: int) -> bytes:
    return _STREAM_KEY_AD + ring_id + struct.pack(">I", epoch)


# The ciphers (the native core, cryptography) are imported by the functions that use the ring
# key, not by this module: opening a key ring imports them only once its KEK has unwrapped the
# ring key, so a passphrase KEK's scrypt (128 * N * r bytes) runs before they are resident.


def _stream_key(rk: bytes) -> bytes:
    from vaultkit.hazmat import _fast

    return _fast.mac("SM3", rk, b"vaultkit stream wrap v1")[:16]


def _mac_key(rk: bytes) -> bytes:
    return hmac.new(rk, b"vaultkit store mac v2", hashlib.sha256).digest()


def _dek_key(rk: bytes) -> bytes:
    from vaultkit.hazmat import _fast

    return _fast.mac("SM3", rk, b"vaultkit dek wrap v2")[:16]


def _dek_aead(rk: bytes) -> _fast.Aead:
    """SM4-GCM under ``dek_key``: wraps the DEKs and the earlier epochs' stream keys."""
    from vaultkit.hazmat import _fast

    return _fast.aead("SM4-GCM", _dek_key(rk))


def _default_kek_name(kms: KMS, taken: Sequence[str]) -> str:
    state = kms.state() if kms.kind == "local" else {}
    base = {"local": "passphrase", "pkcs11": "pkcs11", "sm2": "sm2"}.get(kms.kind, kms.kind)
    if state.get("source") == "key_file":
        base = "key-file"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def _retired_for(v: VersionDoc) -> float | None:
    """Seconds since ``v`` was retired; None when the store did not record it."""
    stamp = v.get("retired_at")
    if not isinstance(stamp, str):
        return None
    try:
        when = _dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return (_dt.datetime.now(_dt.timezone.utc) - when).total_seconds()


def _validate(body: RingBody) -> None:
    """Structure checks of an authenticated body (guards against bugs, not attackers)."""
    ids, names = set(), set()
    if not isinstance(body["next_key_id"], int):
        raise ValueError
    if "keks" in body:
        kek_names = [k["name"] for k in body["keks"]]
        if not kek_names or len(set(kek_names)) != len(kek_names):
            raise ValueError
    for entry in body["keys"]:
        Algorithm.parse(entry["algorithm"])
        if entry["key_id"] in ids or entry["name"] in names:
            raise ValueError
        ids.add(entry["key_id"])
        names.add(entry["name"])
        primaries = 0
        for v in entry["versions"]:
            state = KeyState(v["state"])
            primaries += state is KeyState.PRIMARY
            if (v["wrapped"] is None) != (state is KeyState.DESTROYED):
                raise ValueError
        if primaries != 1:
            raise ValueError
    if "grants" in body:  # principals' grants (vaultkit.keys._ring_grants)
        from vaultkit.access._grant import Grant

        for grant in body["grants"]:
            Grant.from_json(grant)
