"""Vault: the facade applications use to encrypt, decrypt, tokenize and index fields."""

from __future__ import annotations

import importlib
import struct
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vaultkit.envelope import _format as f
from vaultkit.envelope._field import FieldCipher, item_index
from vaultkit.errors import (
    DecryptionError,
    InputFormatError,
    KeyNotFoundError,
    KeyStateError,
    VaultkitTypeError,
)
from vaultkit.keys import _fork
from vaultkit.keys._cache import CachedKeys, CacheEntry
from vaultkit.keys._kms import NoPickle
from vaultkit.keys._model import DataKey, KeyProvider, KeyState

if TYPE_CHECKING:
    from vaultkit.blindindex import Compound

__all__ = ["AuditEvent", "Vault"]

_AEAD_WIRE = frozenset(a.wire_id for a in f.AEAD_ALGORITHMS)
_IDS = struct.Struct(">II")  # key id and key version at offset 2

Context = Mapping[str, "str | bytes"]


@dataclass(frozen=True)
class AuditEvent:
    """What the audit hook receives: never plaintext, ciphertext, context values or keys."""

    operation: str  # "encrypt", "decrypt", "tokenize", "detokenize", "blind_index"
    key_name: str | None
    key_id: int | None
    version: int | None
    context_keys: tuple[str, ...]
    count: int
    ok: bool
    forced: bool = False


AuditHook = Callable[[AuditEvent], None]


def _plain(value: bytes | str) -> bytes:
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            pass  # raised below, outside this handler: UnicodeEncodeError holds the plaintext
        raise InputFormatError("a str plaintext must be valid Unicode (no lone surrogate)")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise VaultkitTypeError("a plaintext is bytes or str")


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        pass  # raised below, outside this handler: UnicodeDecodeError.object is the plaintext
    raise InputFormatError("the plaintext is not UTF-8 text; use decrypt()")


def _texts(values: list[bytes]) -> list[str]:
    try:
        return list(map(bytes.decode, values))  # UTF-8, strict
    except UnicodeDecodeError:
        pass  # as in _text: the handler's exception holds a whole plaintext
    raise InputFormatError("the plaintext is not UTF-8 text; use decrypt()")


def _retired(key: DataKey) -> KeyStateError:
    return KeyStateError(
        f"key {key.name!r} version {key.version} is retired: decrypting needs force=True"
    )


class Vault(NoPickle):
    """Encrypt and decrypt fields (format v1, see :mod:`vaultkit.envelope`) with a key ring.

    ``Vault(keys, *, audit=None, cache_ttl=300.0, cache_uses=1_000_000)``: ``keys`` is a
    :class:`~vaultkit.keys.KeyRing` or any :class:`~vaultkit.keys.KeyProvider`. Unwrapped DEKs
    are cached for at most ``cache_ttl`` seconds and ``cache_uses`` fields per key version
    (0 disables caching), so the KMS is called once per key version, not per field; ``close()``
    or leaving a ``with`` block drops them. Over a ``KeyRing``, the store file is stat-ed at most
    every 0.25 s before a key is used, so a key rotated, retired or destroyed by another process
    is noticed within that bound (``docs/keys.md``, "Destroying a version"). Fork-safe: a forked
    child starts with an empty cache and fresh locks. ``audit`` receives an
    :class:`AuditEvent` per call (per key version for batches). ``context`` is a mapping of str
    to str or bytes (e.g. ``{"table": "customers", "column": "id_no", "row": "42"}``): it is
    authenticated, not stored, and must be given again to decrypt.
    """

    __slots__ = (
        "__weakref__",
        "_audit",
        "_blind",
        "_cache",
        "_ciphers",
        "_last",
        "_lock",
        "_tokens",
    )

    def __init__(
        self,
        keys: KeyProvider,
        *,
        audit: AuditHook | None = None,
        cache_ttl: float = 300.0,
        cache_uses: int = 1_000_000,
    ) -> None:
        self._cache = CachedKeys(keys, ttl=cache_ttl, uses=cache_uses)
        self._audit = audit
        self._ciphers: weakref.WeakSet[FieldCipher] = weakref.WeakSet()  # wiped on close()
        # the last context dict and its encoding: (a copy of the dict, encode_context(dict))
        self._last: tuple[dict[str, Any], bytes] = ({}, f.encode_context({}))
        self._lock = threading.Lock()
        self._tokens: Any = None
        self._blind: Any = None
        _fork.track(self)

    def _after_fork(self) -> None:
        # a forked child gets a fresh lock; its key cache empties itself (CachedKeys)
        self._lock = threading.Lock()

    @property
    def keys(self) -> KeyProvider:
        """The key provider (key ring) this vault was made with."""
        return self._cache.inner

    # -- encryption -----------------------------------------------------------------------------
    def encrypt(self, key_name: str, plaintext: bytes | str, *, context: Context) -> bytes:
        """Binary field ciphertext of ``plaintext`` under the primary version of ``key_name``."""
        last = self._last  # inlined _encode: no allocation when the context repeats
        ctx = last[1] if context.__class__ is dict and last[0] == context else self._encode(context)
        data = plaintext if plaintext.__class__ is bytes else _plain(plaintext)
        entry = self._cache.primary(key_name)
        cipher = entry.attachment or self._cipher(entry)
        out = cipher.seal(data, ctx)
        if self._audit is not None:
            self._emit("encrypt", cipher.key, context, 1)
        return out

    def encrypt_text(self, key_name: str, plaintext: bytes | str, *, context: Context) -> str:
        """Like :meth:`encrypt`, in the ASCII text form ``vk1.<base64url>``."""
        return f.to_text(self.encrypt(key_name, plaintext, context=context))

    def encrypt_many(
        self,
        key_name: str,
        plaintexts: Sequence[bytes | str],
        *,
        context: Context | None = None,
        contexts: Sequence[Context] | None = None,
    ) -> list[bytes]:
        """Binary ciphertexts of many fields in one batch (``context`` shared or one per item)."""
        if not isinstance(plaintexts, list | tuple):
            plaintexts = list(plaintexts)  # a generator would be read twice below
        if set(map(type, plaintexts)) <= {bytes}:
            datas: Sequence[bytes] = plaintexts  # type: ignore[assignment]
        else:
            datas = [_plain(p) for p in plaintexts]
        ctx = self._contexts(len(datas), context, contexts)
        cipher = self._cipher(self._cache.primary(key_name, len(datas)))
        out = cipher.seal_many(datas, ctx)
        self._emit("encrypt", cipher.key, context or (contexts[0] if contexts else {}), len(out))
        return out

    def encrypt_text_many(
        self,
        key_name: str,
        plaintexts: Sequence[bytes | str],
        *,
        context: Context | None = None,
        contexts: Sequence[Context] | None = None,
    ) -> list[str]:
        """Like :meth:`encrypt_many`, in the text form."""
        return f.to_text_many(
            self.encrypt_many(key_name, plaintexts, context=context, contexts=contexts)
        )

    # -- decryption -----------------------------------------------------------------------------
    def decrypt(self, ciphertext: bytes | str, *, context: Context, force: bool = False) -> bytes:
        """Plaintext of a ciphertext (binary or text form) made with the same ``context``.

        ``DecryptionError`` (opaque) when it does not authenticate, or names a key (version) the
        key ring does not have or has destroyed; ``KeyStateError`` when it authenticates under a
        retired version and ``force`` is false. The header is authenticated before any key state
        is told: a forged header learns nothing about the key ring. A destroyed version cannot
        authenticate anything (its key is gone), so its ciphertexts get the opaque error too;
        :func:`vaultkit.envelope.inspect` and ``vaultkit key show`` tell an operator why.
        """
        data = ciphertext if ciphertext.__class__ is bytes else f.as_binary(ciphertext)
        last = self._last  # inlined _encode, as in encrypt
        ctx = last[1] if context.__class__ is dict and last[0] == context else self._encode(context)
        if len(data) < f.MIN_LEN or data[0] != f.FORMAT_VERSION or data[1] not in _AEAD_WIRE:
            raise DecryptionError()
        key_id, version = _IDS.unpack_from(data, 2)
        try:  # inlined _entry: a retired version is fetched, its state told after authentication
            entry = self._cache.by_id(key_id, version, force=True, uses=1)
        except (KeyNotFoundError, KeyStateError):
            raise DecryptionError() from None
        cipher = entry.attachment or self._opener(entry)
        try:
            out = cipher.open(data, ctx)
        except DecryptionError:
            self._emit("decrypt", cipher.key, context, 1, ok=False, forced=force)
            raise
        if entry.key.state is KeyState.RETIRED and not force:
            del out
            self._emit("decrypt", cipher.key, context, 1, ok=False)
            raise _retired(cipher.key)
        if self._audit is not None:
            self._emit("decrypt", cipher.key, context, 1, forced=force)
        return out

    def decrypt_text(
        self, ciphertext: str | bytes, *, context: Context, force: bool = False
    ) -> str:
        """Like :meth:`decrypt`, returning the plaintext as UTF-8 text."""
        return _text(self.decrypt(ciphertext, context=context, force=force))

    def decrypt_many(
        self,
        ciphertexts: Sequence[bytes | str],
        *,
        context: Context | None = None,
        contexts: Sequence[Context] | None = None,
        force: bool = False,
    ) -> list[bytes]:
        """Plaintexts of many ciphertexts (any mix of key versions), one batch per version.

        A failure raises ``DecryptionError`` whose ``where`` names the item's index.
        """
        if not isinstance(ciphertexts, list | tuple):
            ciphertexts = list(ciphertexts)
        datas = f.to_binary_many(ciphertexts)  # the text form decoded in bulk
        n = len(datas)
        ctx = self._contexts(n, context, contexts)
        if not n:
            return []
        shown = context or (contexts[0] if contexts else {})
        groups = f.header_groups(datas)  # by header: one per writer and key version, usually one
        if len(groups) == 1:
            ((header, _),) = groups.items()
            plain, one = self._open_part(header, datas, ctx, None, n, None, shown, force)
            self._emit("decrypt", one.key, shown, n, forced=force)
            return plain
        # several headers: one key lookup and audit event per key version, one batch per header
        versions: dict[bytes, list[tuple[bytes, list[int]]]] = {}
        for header, idx in groups.items():
            assert idx is not None
            versions.setdefault(header[: f.FIXED_LEN], []).append((header, idx))
        out: list[bytes] = [b""] * n
        for parts in versions.values():
            uses = sum(len(idx) for _, idx in parts)
            cipher: FieldCipher | None = None
            for header, idx in parts:
                items = [datas[i] for i in idx]
                ctx_items = ctx if isinstance(ctx, bytes) else [ctx[i] for i in idx]
                plain, cipher = self._open_part(
                    header, items, ctx_items, idx, uses, cipher, shown, force
                )
                for i, p in zip(idx, plain, strict=True):
                    out[i] = p
            assert cipher is not None
            self._emit("decrypt", cipher.key, shown, uses, forced=force)
        return out

    def _open_part(
        self,
        header: bytes,
        datas: list[bytes],
        ctx: bytes | list[bytes],
        idx: list[int] | None,
        uses: int,
        cipher: FieldCipher | None,
        shown: Context,
        force: bool,
    ) -> tuple[list[bytes], FieldCipher]:
        """Open items that all begin with ``header`` (grouped by ``f.header_groups``) in one
        batch: under ``cipher``, or the key version the header names (charged ``uses`` fields).
        A failure names the item by its index in the caller's batch (``idx[i]``, or ``i`` when
        ``idx`` is None: the items are the whole batch)."""
        if cipher is None:
            first = f"item {idx[0] if idx else 0}"
            if header[0] != f.FORMAT_VERSION or header[1] not in _AEAD_WIRE:
                raise DecryptionError(first)
            key_id, version = _IDS.unpack_from(header, 2)
            try:
                cipher = self._opener(self._entry(key_id, version, uses=uses))
            except DecryptionError:
                raise DecryptionError(first) from None
        try:
            # FieldCipher's batch entry for items already grouped by header (private to us)
            plain = cipher._open_group(header, datas, ctx)
        except DecryptionError as exc:
            self._emit("decrypt", cipher.key, shown, uses, ok=False, forced=force)
            i = item_index(exc) or 0
            raise DecryptionError(f"item {idx[i] if idx else i}") from None
        if cipher.key.state is KeyState.RETIRED and not force:
            # told only now that the items authenticated (as in decrypt)
            del plain
            self._emit("decrypt", cipher.key, shown, uses, ok=False)
            raise _retired(cipher.key)
        return plain, cipher

    def decrypt_text_many(
        self,
        ciphertexts: Sequence[str | bytes],
        *,
        context: Context | None = None,
        contexts: Sequence[Context] | None = None,
        force: bool = False,
    ) -> list[str]:
        """Like :meth:`decrypt_many`, returning UTF-8 text."""
        return _texts(
            self.decrypt_many(ciphertexts, context=context, contexts=contexts, force=force)
        )

    # -- tokens and blind indexes (vaultkit.tokens, vaultkit.blindindex) ----------------------
    def tokenize(
        self,
        key_name: str,
        value: str,
        *,
        format: Any,
        context: Context,
        version: int | None = None,
    ) -> str:
        """Format-preserving token of ``value`` (see :class:`vaultkit.tokens.Tokenizer`)."""
        out: str = self._tokenizer().tokenize(
            key_name, value, format=format, context=context, version=version
        )
        self._emit_name("tokenize", key_name, version, context, 1)
        return out

    def detokenize(
        self,
        key_name: str,
        token: str,
        *,
        format: Any,
        context: Context,
        version: int | None = None,
    ) -> str:
        """Inverse of :meth:`tokenize`."""
        out: str = self._tokenizer().detokenize(
            key_name, token, format=format, context=context, version=version
        )
        self._emit_name("detokenize", key_name, version, context, 1)
        return out

    def tokenize_many(
        self,
        key_name: str,
        values: Sequence[str],
        *,
        format: Any,
        context: Context,
        version: int | None = None,
    ) -> list[str]:
        """:meth:`tokenize` for many values in one batch."""
        out: list[str] = self._tokenizer().tokenize_many(
            key_name, values, format=format, context=context, version=version
        )
        self._emit_name("tokenize", key_name, version, context, len(out))
        return out

    def detokenize_many(
        self,
        key_name: str,
        tokens: Sequence[str],
        *,
        format: Any,
        context: Context,
        version: int | None = None,
    ) -> list[str]:
        """:meth:`detokenize` for many tokens in one batch."""
        out: list[str] = self._tokenizer().detokenize_many(
            key_name, tokens, format=format, context=context, version=version
        )
        self._emit_name("detokenize", key_name, version, context, len(out))
        return out

    def blind_index(
        self,
        key_name: str,
        value: Any,
        *,
        context: Context,
        bits: int,
        version: int | None = None,
        kind: str | Compound | None = None,
    ) -> bytes:
        """Blind index of ``value`` (see :class:`vaultkit.blindindex.BlindIndexer`).

        ``kind`` picks the normalization (``"card_no"``, ``"cn_id"``, ... or a
        :class:`~vaultkit.blindindex.Compound`); ``None`` is plain text.
        """
        out: bytes = self._indexer().compute(
            key_name, value, context=context, bits=bits, version=version, kind=kind
        )
        self._emit_name("blind_index", key_name, version, context, 1)
        return out

    def blind_index_many(
        self,
        key_name: str,
        values: Sequence[Any],
        *,
        context: Context,
        bits: int,
        version: int | None = None,
        kind: str | Compound | None = None,
    ) -> list[bytes]:
        """:meth:`blind_index` for many values in one batch."""
        out: list[bytes] = self._indexer().compute_many(
            key_name, values, context=context, bits=bits, version=version, kind=kind
        )
        self._emit_name("blind_index", key_name, version, context, len(out))
        return out

    def blind_index_candidates(
        self,
        key_name: str,
        value: Any,
        *,
        context: Context,
        bits: int,
        kind: str | Compound | None = None,
    ) -> list[bytes]:
        """Blind indexes of ``value`` under every readable version (for queries during rotation)."""
        out: list[bytes] = self._indexer().candidates(
            key_name, value, context=context, bits=bits, kind=kind
        )
        self._emit_name("blind_index", key_name, None, context, 1)
        return out

    # -- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        """Drop every cached DEK and derived subkey."""
        with self._lock:
            for cipher in self._ciphers:
                cipher.wipe()
            self._ciphers.clear()
            self._last = ({}, f.encode_context({}))
            self._tokens = self._blind = None
        self._cache.clear()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Vault(keys={type(self.keys).__name__})"

    # -- internals ------------------------------------------------------------------------------
    def _entry(self, key_id: int, version: int, *, uses: int) -> CacheEntry:
        """The key version a header names, retired ones included (the caller tells the state
        after authentication)."""
        try:
            return self._cache.by_id(key_id, version, force=True, uses=uses)
        except (KeyNotFoundError, KeyStateError):
            # the header is not authenticated yet: an unknown or destroyed key id or version is
            # just a ciphertext that does not decrypt (vaultkit.envelope.inspect shows the header)
            raise DecryptionError() from None

    def _cipher(self, entry: CacheEntry) -> FieldCipher:
        cipher: FieldCipher | None = entry.attachment
        if cipher is None:
            cipher = entry.attachment = FieldCipher(entry.key)
            with self._lock:
                self._ciphers.add(cipher)
        return cipher

    def _opener(self, entry: CacheEntry) -> FieldCipher:
        """The cipher that opens ciphertexts under ``entry``'s key. The header is not
        authenticated yet: one that names a key of another kind (a token or blind-index key) is
        just a ciphertext that does not decrypt, not an error naming that key."""
        if entry.key.algorithm not in f.AEAD_ALGORITHMS:
            raise DecryptionError()
        return self._cipher(entry)

    def _encode(self, context: Context) -> bytes:
        """``encode_context``, remembering the last plain ``dict`` (compared by value: a caller
        that mutates its dict between calls gets the new encoding)."""
        last = self._last
        if context.__class__ is dict and last[0] == context:
            return last[1]
        out = f.encode_context(context)
        # remembered only with immutable values: a bytearray changed in place would still
        # compare equal to the copy (the same object) and get the old encoding
        if context.__class__ is dict and all(
            v.__class__ is str or v.__class__ is bytes for v in context.values()
        ):
            self._last = (dict(context), out)
        return out

    @staticmethod
    def _contexts(
        n: int, context: Context | None, contexts: Sequence[Context] | None
    ) -> bytes | list[bytes]:
        if (context is None) == (contexts is None):
            raise VaultkitTypeError("give exactly one of context= (shared) or contexts= (per item)")
        if context is not None:
            return f.encode_context(context)
        assert contexts is not None
        if len(contexts) != n:
            raise VaultkitTypeError(f"{len(contexts)} contexts for {n} items")
        return f.encode_contexts(contexts)

    def _emit(
        self,
        op: str,
        key: DataKey,
        context: Context,
        count: int,
        *,
        ok: bool = True,
        forced: bool = False,
    ) -> None:
        if self._audit is not None:
            self._audit(
                AuditEvent(
                    op, key.name, key.key_id, key.version, tuple(sorted(context)), count, ok, forced
                )
            )

    def _emit_name(
        self, op: str, key_name: str, version: int | None, context: Context, count: int
    ) -> None:
        if self._audit is not None:
            self._audit(
                AuditEvent(op, key_name, None, version, tuple(sorted(context)), count, True)
            )

    def _tokenizer(self) -> Any:
        if self._tokens is None:
            # imported here: the recipes sit beside the envelope, and may be absent
            self._tokens = importlib.import_module("vaultkit.tokens").Tokenizer(self._cache)
        return self._tokens

    def _indexer(self) -> Any:
        if self._blind is None:
            self._blind = importlib.import_module("vaultkit.blindindex").BlindIndexer(self._cache)
        return self._blind
