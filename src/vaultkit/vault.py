"""Vault: the facade applications use to encrypt, decrypt, tokenize and index fields.

The facade's methods are here; what it is made of is in ``vaultkit._facade`` (the DEK cache
and the ciphers derived from it, encoded contexts, plaintext conversions, audit events). The
field ciphertext format is the envelope's (``docs/envelope.md``): the Vault never reads a header
or groups a batch itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vaultkit._facade.audit import AuditEvent, AuditHook, emit, emit_name
from vaultkit._facade.ciphers import Ciphers, retired
from vaultkit._facade.contexts import ContextMemo, batch_contexts
from vaultkit._facade.plaintexts import as_bytes, as_text, as_texts
from vaultkit._nopickle import NoPickle
from vaultkit.envelope._internal import (
    Context,
    as_binary,
    key_ids,
    open_group,
    to_binary_many,
    to_text,
    to_text_many,
    version_groups,
)
from vaultkit.errors import DecryptionError, KeyNotFoundError, KeyStateError
from vaultkit.keys import KeyProvider, KeyState

if TYPE_CHECKING:
    import threading

    from vaultkit.blindindex import BlindIndexer, Compound
    from vaultkit.tokens import Tokenizer

__all__ = ["AuditEvent", "Vault"]

# a token format: ``str | TokenFormat`` (the Tokenizer refuses anything else with a typed error).
# Any until reencrypt/_engine.py narrows its optional format before passing it (issue 15)
FormatArg = Any  # type: ignore[explicit-any]


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

    __slots__ = ("__weakref__", "_audit", "_blind", "_cache", "_ciphers", "_ctx", "_tokens")

    def __init__(
        self,
        keys: KeyProvider,
        *,
        audit: AuditHook | None = None,
        cache_ttl: float = 300.0,
        cache_uses: int = 1_000_000,
    ) -> None:
        self._ciphers = Ciphers(keys, ttl=cache_ttl, uses=cache_uses)
        self._cache = self._ciphers.cache  # read on every field: one attribute away
        self._audit = audit
        self._ctx = ContextMemo()
        self._tokens: Tokenizer | None = None
        self._blind: BlindIndexer | None = None

    @property
    def _lock(self) -> threading.Lock:
        """The lock of the vault's ciphers (replaced in a forked child)."""
        return self._ciphers.lock

    @property
    def keys(self) -> KeyProvider:
        """The key provider (key ring) this vault was made with."""
        return self._cache.inner

    # -- encryption -----------------------------------------------------------------------------
    def encrypt(self, key_name: str, plaintext: bytes | str, *, context: Context) -> bytes:
        """Binary field ciphertext of ``plaintext`` under the primary version of ``key_name``."""
        last = self._ctx.last  # inlined ContextMemo.encode: no allocation when it repeats
        ctx = (
            last[1]
            if context.__class__ is dict and last[0] == context
            else self._ctx.encode(context)
        )
        data = plaintext if plaintext.__class__ is bytes else as_bytes(plaintext)
        entry = self._cache.primary(key_name)
        cipher = entry.attachment or self._ciphers.attach(entry)
        out = cipher.seal(data, ctx)
        if self._audit is not None:
            emit(self._audit, "encrypt", cipher.key, context, 1)
        return out

    def encrypt_text(self, key_name: str, plaintext: bytes | str, *, context: Context) -> str:
        """Like :meth:`encrypt`, in the ASCII text form ``vk1.<base64url>``."""
        return to_text(self.encrypt(key_name, plaintext, context=context))

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
            datas: Sequence[bytes] = plaintexts  # type: ignore[assignment]  # all bytes
        else:
            datas = [as_bytes(p) for p in plaintexts]
        ctx = batch_contexts(len(datas), context, contexts)
        cipher = self._ciphers.attach(self._cache.primary(key_name, len(datas)))
        out = cipher.seal_many(datas, ctx)
        shown = context or (contexts[0] if contexts else {})
        emit(self._audit, "encrypt", cipher.key, shown, len(out))
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
        return to_text_many(
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
        data = ciphertext if ciphertext.__class__ is bytes else as_binary(ciphertext)
        last = self._ctx.last  # inlined ContextMemo.encode, as in encrypt
        ctx = (
            last[1]
            if context.__class__ is dict and last[0] == context
            else self._ctx.encode(context)
        )
        key_id, version = key_ids(data)
        try:  # inlined Ciphers.named: a retired version is fetched, its state told after opening
            entry = self._cache.by_id(key_id, version, force=True, uses=1)
        except (KeyNotFoundError, KeyStateError):
            raise DecryptionError() from None
        cipher = entry.attachment or self._ciphers.opener(entry)
        try:
            out = cipher.open(data, ctx)
        except DecryptionError:
            emit(self._audit, "decrypt", cipher.key, context, 1, ok=False, forced=force)
            raise
        if entry.key.state is KeyState.RETIRED and not force:
            del out
            emit(self._audit, "decrypt", cipher.key, context, 1, ok=False)
            raise retired(cipher.key)
        if self._audit is not None:
            try:
                emit(self._audit, "decrypt", cipher.key, context, 1, forced=force)
            except BaseException:
                del out  # fail closed: the traceback must not carry the plaintext either
                raise
        return out

    def decrypt_text(
        self, ciphertext: str | bytes, *, context: Context, force: bool = False
    ) -> str:
        """Like :meth:`decrypt`, returning the plaintext as UTF-8 text."""
        return as_text(self.decrypt(ciphertext, context=context, force=force))

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
        datas = to_binary_many(ciphertexts)  # the text form decoded in bulk
        n = len(datas)
        ctx = batch_contexts(n, context, contexts)
        if not n:
            return []
        shown = context or (contexts[0] if contexts else {})
        out: list[bytes] = [b""] * n
        # grouped by the envelope: one key lookup and audit event per key version, one batch
        # call per header (writer); usually one of each
        for part in version_groups(datas):
            cipher = self._ciphers.of_version(part)
            for group in part.groups:
                try:
                    plain = open_group(cipher, group, datas, ctx)
                except DecryptionError:
                    emit(
                        self._audit,
                        "decrypt",
                        cipher.key,
                        shown,
                        part.total,
                        ok=False,
                        forced=force,
                    )
                    raise
                if cipher.key.state is KeyState.RETIRED and not force:
                    # told only now that the items authenticated (as in decrypt)
                    del plain
                    emit(self._audit, "decrypt", cipher.key, shown, part.total, ok=False)
                    raise retired(cipher.key)
                out = group.place(out, plain)
                del plain
            try:
                emit(self._audit, "decrypt", cipher.key, shown, part.total, forced=force)
            except BaseException:
                del out  # fail closed: the traceback must not carry the plaintexts either
                raise
        return out

    def decrypt_text_many(
        self,
        ciphertexts: Sequence[str | bytes],
        *,
        context: Context | None = None,
        contexts: Sequence[Context] | None = None,
        force: bool = False,
    ) -> list[str]:
        """Like :meth:`decrypt_many`, returning UTF-8 text."""
        return as_texts(
            self.decrypt_many(ciphertexts, context=context, contexts=contexts, force=force)
        )

    # -- tokens and blind indexes (vaultkit.tokens, vaultkit.blindindex) ----------------------
    def tokenize(
        self,
        key_name: str,
        value: str,
        *,
        format: FormatArg,
        context: Context,
        version: int | None = None,
    ) -> str:
        """Format-preserving token of ``value`` (see :class:`vaultkit.tokens.Tokenizer`)."""
        out = self._tokenizer().tokenize(
            key_name, value, format=format, context=context, version=version
        )
        emit_name(self._audit, "tokenize", key_name, version, context, 1)
        return out

    def detokenize(
        self,
        key_name: str,
        token: str,
        *,
        format: FormatArg,
        context: Context,
        version: int | None = None,
    ) -> str:
        """Inverse of :meth:`tokenize`."""
        out = self._tokenizer().detokenize(
            key_name, token, format=format, context=context, version=version
        )
        try:
            emit_name(self._audit, "detokenize", key_name, version, context, 1)
        except BaseException:
            del out  # fail closed: the traceback must not carry the plaintext either
            raise
        return out

    def tokenize_many(
        self,
        key_name: str,
        values: Sequence[str],
        *,
        format: FormatArg,
        context: Context,
        version: int | None = None,
    ) -> list[str]:
        """:meth:`tokenize` for many values in one batch."""
        out = self._tokenizer().tokenize_many(
            key_name, values, format=format, context=context, version=version
        )
        emit_name(self._audit, "tokenize", key_name, version, context, len(out))
        return out

    def detokenize_many(
        self,
        key_name: str,
        tokens: Sequence[str],
        *,
        format: FormatArg,
        context: Context,
        version: int | None = None,
    ) -> list[str]:
        """:meth:`detokenize` for many tokens in one batch."""
        out = self._tokenizer().detokenize_many(
            key_name, tokens, format=format, context=context, version=version
        )
        try:
            emit_name(self._audit, "detokenize", key_name, version, context, len(out))
        except BaseException:
            del out  # fail closed: the traceback must not carry the plaintext either
            raise
        return out

    def blind_index(
        self,
        key_name: str,
        value: object,
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
        out = self._indexer().compute(
            key_name, value, context=context, bits=bits, version=version, kind=kind
        )
        emit_name(self._audit, "blind_index", key_name, version, context, 1)
        return out

    def blind_index_many(
        self,
        key_name: str,
        values: Sequence[object],
        *,
        context: Context,
        bits: int,
        version: int | None = None,
        kind: str | Compound | None = None,
    ) -> list[bytes]:
        """:meth:`blind_index` for many values in one batch."""
        out = self._indexer().compute_many(
            key_name, values, context=context, bits=bits, version=version, kind=kind
        )
        emit_name(self._audit, "blind_index", key_name, version, context, len(out))
        return out

    def blind_index_candidates(
        self,
        key_name: str,
        value: object,
        *,
        context: Context,
        bits: int,
        kind: str | Compound | None = None,
    ) -> list[bytes]:
        """Blind indexes of ``value`` under every readable version (for queries during rotation)."""
        out = self._indexer().candidates(key_name, value, context=context, bits=bits, kind=kind)
        emit_name(self._audit, "blind_index", key_name, None, context, 1)
        return out

    # -- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        """Drop every cached DEK and derived subkey."""
        self._ciphers.wipe()
        self._ctx.reset()
        self._tokens = self._blind = None

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Vault(keys={type(self.keys).__name__})"

    def _tokenizer(self) -> Tokenizer:
        if self._tokens is None:
            # imported on first use: ``import vaultkit.vault`` (every door) does not pay for
            # FF1, the token formats and the identifier checks unless tokens are used
            from vaultkit.tokens import Tokenizer

            self._tokens = Tokenizer(self._cache)
        return self._tokens

    def _indexer(self) -> BlindIndexer:
        if self._blind is None:
            from vaultkit.blindindex import BlindIndexer  # on first use, as in _tokenizer

            self._blind = BlindIndexer(self._cache)
        return self._blind
