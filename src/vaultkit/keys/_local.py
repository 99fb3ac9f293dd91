"""LocalKMS: KEKs derived from a passphrase (scrypt) or a 32-byte key file.

KEK version ``v`` is derived from the secret and a random 16-byte salt drawn for that version:

* passphrase: ``scrypt(passphrase, salt_v, N, r, p, dklen)`` (RFC 7914); ``N``, ``r``, ``p`` are
  stored with the version and capped when read (``N <= 2**20``, ``r <= 32``, ``p <= 16``,
  memory ``128 * N * r <= 1 GiB``, ``N * r * p <= 2**23``), so a hostile key store cannot make
  opening hang; a KEK rotation never lowers ``N * r * p``;
* key file: ``HKDF-SHA256(key_file_bytes, salt=salt_v, info="vaultkit local kek v1")``
  (RFC 5869).

``dklen`` is the wrap algorithm's key size. Wrap is AEAD with the DEK's identity as associated
data: ``blob = nonce (12 bytes, random) || AEAD(KEK_v, nonce, dek, associated_data)``
(ciphertext || 16-byte tag), where AEAD is SM4-GCM (GB/T 32907 + SP 800-38D; the default, so a
passphrase key ring uses national algorithms only) or AES-256-GCM, chosen at creation and stored.
:meth:`LocalKMS.rotate` draws a new salt (and uses a new passphrase or key file if one was given
with :meth:`LocalKMS.set_next_secret`).

Secrets in memory: the passphrase (or key file bytes) and the derived KEKs are held in
``bytearray`` buffers that :meth:`LocalKMS.close` overwrites with zeros and empties; a closed
LocalKMS refuses to wrap or unwrap. What Python does not let it wipe: a ``str`` or ``bytes``
passphrase the caller passed (and the environment variable), the immutable copies the
primitives take of a KEK for the duration of one wrap/unwrap (SM4/AES key schedules), and
copies the allocator has already freed. A forked child gets a fresh lock.

Imports: the standard library's scrypt needs no cipher module, and this module loads none before
a KEK is derived (HKDF and the AEADs are imported where they are used), so a passphrase's
``128 * N * r`` bytes of scrypt work space are not resident together with the ciphers.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, cast

from vaultkit._nopickle import NoPickle
from vaultkit.errors import DecryptionError, InvalidKeyError, KeyStoreError, KMSError
from vaultkit.keys import _fork
from vaultkit.keys._kms import KMSState, WrappedKey

if TYPE_CHECKING:
    from vaultkit.hazmat import _fast

__all__ = ["ENV_PASSPHRASE", "LocalKMS"]

ENV_PASSPHRASE = "VAULTKIT_PASSPHRASE"  # noqa: S105 (a variable name)

_WRAP_ALGORITHMS = {"SM4-GCM": 16, "AES-256-GCM": 32}
_SCRYPT_MAX_N = 2**20
_SCRYPT_MAX_R = 32
_SCRYPT_MAX_P = 16
_SCRYPT_MAX_MEM = 1 << 30
_SCRYPT_MIN_N = 2**10
_NONCE = 12


class _VersionFields(TypedDict):
    version: int
    salt: str  # hex


class _VersionState(_VersionFields, total=False):
    # scrypt costs (RFC 7914), for a passphrase
    n: int
    r: int
    p: int


class _State(TypedDict):
    """What :meth:`LocalKMS.state` writes."""

    kind: str
    source: str  # "passphrase" or "key_file"
    algorithm: str
    current: int
    versions: list[_VersionState]


def _read_key_file(path: str | os.PathLike[str]) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise KMSError(f"cannot read key file {os.fspath(path)!r}: {exc.strerror}") from None
    if len(data) == 32:
        return data
    text = data.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except ValueError:
            pass
    raise InvalidKeyError("a key file holds exactly 32 raw bytes or 64 hex digits")


def _secret(
    passphrase: str | bytes | None, key_file: str | os.PathLike[str] | None
) -> tuple[str, bytearray]:
    if passphrase is not None and key_file is not None:
        raise KMSError("give a passphrase or a key file, not both")
    if key_file is not None:
        return "key_file", bytearray(_read_key_file(key_file))
    if passphrase is None:
        passphrase = os.environ.get(ENV_PASSPHRASE)
        if not passphrase:
            raise KMSError(f"no passphrase: pass one or set {ENV_PASSPHRASE}")
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    if not passphrase:
        raise KMSError("empty passphrase")
    return "passphrase", bytearray(passphrase)


def _wipe(buffer: bytearray) -> None:
    buffer[:] = bytes(len(buffer))
    buffer.clear()


class LocalKMS(NoPickle):
    """The embedded KMS: a passphrase (or ``VAULTKIT_PASSPHRASE``) or a 32-byte key file.

    ``LocalKMS(passphrase=...)``, ``LocalKMS(key_file=path)`` or ``LocalKMS()`` (reads
    ``VAULTKIT_PASSPHRASE``; never pass secrets in argv). ``algorithm`` (``"SM4-GCM"`` or
    ``"AES-256-GCM"``) and the scrypt costs apply to new key stores and new KEK versions; an
    existing store's stored values win, and a new KEK version never gets a lower scrypt cost
    (``N * r * p``) than the current one.
    """

    __slots__ = (
        "__weakref__",
        "_algorithm",
        "_cost",
        "_current",
        "_keks",
        "_lock",
        "_next",
        "_secret",
        "_source",
        "_versions",
    )

    def __init__(
        self,
        *,
        passphrase: str | bytes | None = None,
        key_file: str | os.PathLike[str] | None = None,
        algorithm: str = "SM4-GCM",
        scrypt_n: int = 2**15,
        scrypt_r: int = 8,
        scrypt_p: int = 1,
    ) -> None:
        if algorithm not in _WRAP_ALGORITHMS:
            raise KMSError(f"LocalKMS wraps with {' or '.join(_WRAP_ALGORITHMS)}")
        self._source, self._secret = _secret(passphrase, key_file)
        self._algorithm = algorithm
        self._cost = _check_cost(scrypt_n, scrypt_r, scrypt_p, error=KMSError)
        self._versions: dict[int, _VersionState] = {}
        self._keks: dict[int, bytearray] = {}
        self._current = 0
        self._next: tuple[str, bytearray] | None = None
        self._lock = threading.Lock()
        _fork.track(self)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()

    # -- protocol ------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return "local"

    @property
    def kek_id(self) -> str:
        first = self._versions.get(1) or self._versions.get(min(self._versions, default=0))
        if first is None:
            raise KMSError("LocalKMS is not initialized (create or open a key ring)")
        return "local:" + hashlib.sha256(bytes.fromhex(first["salt"])).hexdigest()[:16]

    @property
    def kek_version(self) -> int:
        if not self._current:
            raise KMSError("LocalKMS is not initialized (create or open a key ring)")
        return self._current

    def initialize(self) -> None:
        self._wipe_keks()
        self._versions, self._current = {}, 0
        self._add_version()

    def state(self) -> KMSState:
        doc: _State = {
            "kind": "local",
            "source": self._source,
            "algorithm": self._algorithm,
            "current": self._current,
            "versions": [self._versions[v] for v in sorted(self._versions)],
        }
        return dict(doc)

    def load_state(self, state: Mapping[str, object]) -> None:
        doc = cast(_State, state)  # as state() wrote it; every field is checked here
        try:
            if doc["kind"] != "local":
                raise KMSError(f"this key ring uses the {doc['kind']!r} KMS, not a passphrase")
            source, algorithm, current = doc["source"], doc["algorithm"], doc["current"]
            versions: dict[int, _VersionState] = {}
            for item in doc["versions"]:
                v = item["version"]
                salt = bytes.fromhex(item["salt"])
                if not isinstance(v, int) or v < 1 or len(salt) != 16 or v in versions:
                    raise ValueError
                record: _VersionState = {"version": v, "salt": salt.hex()}
                if source == "passphrase":
                    n, r, p = _check_cost(item["n"], item["r"], item["p"], error=KeyStoreError)
                    record["n"], record["r"], record["p"] = n, r, p
                versions[v] = record
        except (KeyError, TypeError, ValueError, AttributeError):
            raise KeyStoreError("malformed LocalKMS parameters in the key store") from None
        if source not in ("passphrase", "key_file") or algorithm not in _WRAP_ALGORITHMS:
            raise KeyStoreError("malformed LocalKMS parameters in the key store")
        if not isinstance(current, int) or current not in versions:
            raise KeyStoreError("malformed LocalKMS parameters in the key store")
        if source != self._source:
            wanted = "a passphrase" if source == "passphrase" else "a key file"
            raise KMSError(f"this key ring is protected by {wanted}")
        with self._lock:
            # keep KEKs already derived for unchanged versions (scrypt is slow on purpose)
            for v in list(self._keks):
                if algorithm != self._algorithm or self._versions.get(v) != versions.get(v):
                    _wipe(self._keks.pop(v))
            self._algorithm = algorithm
            self._versions, self._current = versions, current

    def wrap(self, dek: bytes, *, associated_data: bytes) -> WrappedKey:
        version = self.kek_version
        nonce = secrets.token_bytes(_NONCE)
        blob = nonce + self._aead(version).encrypt(nonce, bytes(dek), associated_data)
        return WrappedKey(self.kek_id, version, blob)

    def unwrap(self, wrapped: WrappedKey, *, associated_data: bytes) -> bytes:
        if wrapped.kek_id != self.kek_id or wrapped.kek_version not in self._versions:
            raise KMSError("wrapped key was not made by this KMS")
        blob = wrapped.blob
        if len(blob) < _NONCE + 16:
            raise KMSError("wrapped key does not unwrap (wrong passphrase or key file?)")
        try:
            return bytes(
                self._aead(wrapped.kek_version).decrypt(
                    blob[:_NONCE], blob[_NONCE:], associated_data
                )
            )
        except DecryptionError:
            raise KMSError("wrapped key does not unwrap (wrong passphrase or key file?)") from None

    def rotate(self) -> int:
        with self._lock:
            if self._next is not None:
                _wipe(self._secret)
                self._source, self._secret = self._next
                self._next = None
                # older versions came from the old secret: forget their derived keys only after
                # the key ring rewrapped, which it does with this object's cached KEKs.
        return self._add_version()

    def close(self) -> None:
        """Overwrite the passphrase (or key file bytes) and every derived KEK with zeros; the
        closed KMS refuses to wrap or unwrap (open the ring with a new one)."""
        with self._lock:
            self._wipe_keks()
            _wipe(self._secret)
            if self._next is not None:
                _wipe(self._next[1])
                self._next = None

    def _wipe_keks(self) -> None:
        for kek in self._keks.values():
            _wipe(kek)
        self._keks.clear()

    # -- local only ------------------------------------------------------------------------------
    def set_next_secret(
        self,
        *,
        passphrase: str | bytes | None = None,
        key_file: str | os.PathLike[str] | None = None,
    ) -> None:
        """Derive the next KEK version (made by :meth:`rotate`) from a new passphrase or key file.

        Call ``ring.rotate_kek()`` afterwards: it unwraps every DEK under the old KEK (derived
        before the change) and rewraps it under the new one.
        """
        source, secret = _secret(passphrase, key_file)
        if source != self._source:
            raise KMSError("a key ring keeps its kind of secret (passphrase or key file)")
        # derive every existing version now, while the old secret is still known
        for v in list(self._versions):
            self._kek(v)
        self._next = (source, secret)

    def __repr__(self) -> str:
        return (
            f"LocalKMS(source={self._source}, algorithm={self._algorithm}, "
            f"kek_version={self._current})"
        )

    # -- internals -------------------------------------------------------------------------------
    def _add_version(self) -> int:
        with self._lock:
            version = max(self._versions, default=0) + 1
            record: _VersionState = {"version": version, "salt": secrets.token_bytes(16).hex()}
            if self._source == "passphrase":
                n, r, p = self._cost
                current = self._versions.get(self._current)
                if current is not None and current["n"] * current["r"] * current["p"] > n * r * p:
                    # a KEK rotation never makes the passphrase cheaper to attack: a ring opened
                    # with the default costs (the CLI) keeps the higher ones it was created with
                    n, r, p = current["n"], current["r"], current["p"]
                record["n"], record["r"], record["p"] = n, r, p
            self._versions[version] = record
            self._current = version
            return version

    def _kek(self, version: int) -> bytes:
        with self._lock:
            kek = self._keks.get(version)
            if kek is not None:
                return bytes(kek)
            if not self._secret:
                raise KMSError("this LocalKMS was closed: its passphrase is wiped")
            record = self._versions[version]
            salt = bytes.fromhex(record["salt"])
            size = _WRAP_ALGORITHMS[self._algorithm]
            if self._source == "passphrase":
                derived = _scrypt(self._secret, salt, record["n"], record["r"], record["p"], size)
            else:
                from cryptography.hazmat.primitives import hashes
                from cryptography.hazmat.primitives.kdf.hkdf import HKDF

                # RFC 5869 section 2
                derived = HKDF(hashes.SHA256(), size, salt, b"vaultkit local kek v1").derive(
                    self._secret
                )
            self._keks[version] = bytearray(derived)
            return derived

    def _aead(self, version: int) -> _fast.Aead:
        kek = self._kek(version)  # first: the KDF runs before the ciphers are imported
        from vaultkit.hazmat import _fast

        return _fast.aead(self._algorithm, kek)


def _scrypt(secret: bytes | bytearray, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """scrypt (RFC 7914 section 6) from the standard library's OpenSSL: ``128 * r * N`` bytes
    of work space while it runs, freed after; no cipher module is loaded for it. Costs are
    checked by :func:`_check_cost` before they get here (memory <= 1 GiB)."""
    return hashlib.scrypt(
        secret, salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAX_MEM + (1 << 20), dklen=dklen
    )


def _check_cost(n: object, r: object, p: object, *, error: type[Exception]) -> tuple[int, int, int]:
    if (
        not (isinstance(n, int) and isinstance(r, int) and isinstance(p, int))
        or any(isinstance(x, bool) for x in (n, r, p))
        or not (
            _SCRYPT_MIN_N <= n <= _SCRYPT_MAX_N
            and n & (n - 1) == 0
            and 1 <= r <= _SCRYPT_MAX_R
            and 1 <= p <= _SCRYPT_MAX_P
            and 128 * n * r <= _SCRYPT_MAX_MEM
            and n * r * p <= _SCRYPT_MAX_N * 8
        )
    ):
        raise error(
            "scrypt parameters out of range (N a power of two in [2^10, 2^20], r <= 32, p <= 16, "
            "memory <= 1 GiB, N*r*p <= 2^23)"
        )
    return int(n), int(r), int(p)
