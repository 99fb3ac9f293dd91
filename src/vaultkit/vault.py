"""Vault: the facade applications use to encrypt, decrypt, tokenize and index fields.

The facade's methods are here; what it is made of is in ``vaultkit._facade`` (the DEK cache
and the ciphers derived from it, encoded contexts, plaintext conversions, audit events). The
field ciphertext format is the envelope's (``docs/envelope.md``): the Vault never reads a header
or groups a batch itself.

This module is longer than the ~400 lines modules are kept to because it is one cohesive thing:
the one public class, whose methods each run the same sequence (access check, key lookup, the
recipe, audit event, opaque failure) over a different recipe. Everything a method builds on is
already out in ``vaultkit._facade`` and the recipes; what stays is the per-call glue, and the
single-call paths inline it on purpose (one Python call less per field is measurable against
the peers: ``benchmarks/bench_vault.py``). Splitting the methods into mixins would spread one
class's contract over several files without removing a line of it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vaultkit._facade.audit import AuditEvent, AuditHook, emit, emit_name
from vaultkit._facade.ciphers import Ciphers, retired
from vaultkit._facade.contexts import ContextMemo, batch_contexts
from vaultkit._facade.masked import masked_plaintext, masking_kind
from vaultkit._facade.plaintexts import as_bytes, as_text, as_texts
from vaultkit._facade.retired import retired_indexes, retired_tokens, retired_versions
from vaultkit._nopickle import NoPickle
from vaultkit.access._guard import Guard
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
from vaultkit.errors import (
    AccessDeniedError,
    DecryptionError,
    InputFormatError,
    KeyNotFoundError,
    KeyStateError,
    VaultkitTypeError,
)
from vaultkit.keys import KeyProvider, KeyState

_monotonic = time.monotonic
_RETIRED = KeyState.RETIRED

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

    ``Vault(keys, *, principal=None, audit=None, cache_ttl=300.0, cache_uses=1_000_000)``:
    ``keys`` is a :class:`~vaultkit.keys.KeyRing` or any :class:`~vaultkit.keys.KeyProvider`.
    ``principal`` names who calls: over a ring with access grants (:meth:`KeyRing.grant
    <vaultkit.keys.KeyRing.grant>`) every call is checked against that principal's grants
    (:class:`~vaultkit.errors.AccessDeniedError` otherwise, recorded as ``denied``), and a Vault
    without a principal is refused; over a ring without grants every call is allowed, as before
    (docs/access.md). Unwrapped DEKs are cached for at most ``cache_ttl`` seconds and
    ``cache_uses`` fields per key version (0 disables caching), so the KMS is called once per
    key version, not per field; ``close()`` or leaving a ``with`` block drops them. Over a
    ``KeyRing``, the store file is stat-ed at most every 0.25 s before a key is used, so a key
    rotated, retired or destroyed by another process (or a grant revoked) is noticed within
    that bound (``docs/keys.md``, "Destroying a version"). Fork-safe: a forked
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
        "_ctx",
        "_guard",
        "_tokens",
    )

    def __init__(
        self,
        keys: KeyProvider,
        *,
        principal: str | None = None,
        audit: AuditHook | None = None,
        cache_ttl: float = 300.0,
        cache_uses: int = 1_000_000,
    ) -> None:
        self._guard = Guard(keys, principal)  # refuses a ring with grants without a principal
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

    @property
    def principal(self) -> str | None:
        """Who this vault calls as (``Vault(..., principal=...)``); None without one."""
        return self._guard.principal

    def _allow(
        self,
        ops: tuple[str, ...],
        audit_op: str,
        key_name: str,
        context: Context,
        count: int,
    ) -> None:
        """Refuse unless the principal's grants allow one of ``ops`` on ``key_name`` for
        ``count`` items; a refusal is recorded (outcome ``denied``) before it is raised."""
        try:
            self._guard.check(ops, key_name, count)
        except AccessDeniedError:
            emit_name(
                self._audit,
                audit_op,
                key_name,
                None,
                context,
                count,
                principal=self._guard.principal,
                outcome="denied",
            )
            raise

    def _door(self, operation: str, key_name: str) -> None:
        """For the doors that use key material without a Vault method (streams): allow
        ``operation`` on ``key_name`` as for a Vault call and record it (``stream_<op>``)."""
        audit_op = f"stream_{operation}"
        self._allow((operation,), audit_op, key_name, {}, 1)
        emit_name(self._audit, audit_op, key_name, None, {}, 1, principal=self._guard.principal)

    def _failed(
        self, op: str, key_name: str, version: int | None, context: Context, n: int
    ) -> None:
        """Record a call that raised (outcome ``error``)."""
        emit_name(
            self._audit,
            op,
            key_name,
            version,
            context,
            n,
            principal=self._guard.principal,
            outcome="error",
        )

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
        if _monotonic() >= self._guard.open_until:  # before it: no grants, none due to be read
            self._allow(("encrypt",), "encrypt", key_name, context, 1)
        try:
            entry = self._cache.primary(key_name)
        except Exception:
            self._failed("encrypt", key_name, None, context, 1)
            raise
        cipher = entry.attachment or self._ciphers.attach(entry)
        out = cipher.seal(data, ctx)
        if self._audit is not None:
            emit(self._audit, "encrypt", cipher.key, context, 1, principal=self._guard.principal)
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
        shown = context or (contexts[0] if contexts else {})
        self._allow(("encrypt",), "encrypt", key_name, shown, len(datas))
        try:
            cipher = self._ciphers.attach(self._cache.primary(key_name, len(datas)))
        except Exception:
            self._failed("encrypt", key_name, None, shown, len(datas))
            raise
        out = cipher.seal_many(datas, ctx)
        emit(self._audit, "encrypt", cipher.key, shown, len(out), principal=self._guard.principal)
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
        return self._decrypt(ciphertext, context, force, ("decrypt",), "decrypt")

    def _decrypt(
        self,
        ciphertext: bytes | str,
        context: Context,
        force: bool,
        ops: tuple[str, ...],
        audit_op: str,
    ) -> bytes:
        """:meth:`decrypt`, allowed by a grant of one of ``ops``, recorded as ``audit_op``."""
        data = ciphertext if ciphertext.__class__ is bytes else as_binary(ciphertext)
        last = self._ctx.last  # inlined ContextMemo.encode, as in encrypt
        ctx = (
            last[1]
            if context.__class__ is dict and last[0] == context
            else self._ctx.encode(context)
        )
        ids = key_ids(data)  # (key id, version): the cache's key as it is
        try:  # inlined Ciphers.named: a retired version is fetched, its state told after opening
            entry = self._cache.by_id(ids, True, 1)
        except (KeyNotFoundError, KeyStateError):
            raise DecryptionError() from None
        cipher = entry.attachment or self._ciphers.opener(entry)
        if _monotonic() >= self._guard.open_until:  # as in encrypt
            self._allow(ops, audit_op, cipher.key.name, context, 1)
        try:
            out = cipher.open(data, ctx)
        except DecryptionError:
            emit(
                self._audit,
                audit_op,
                cipher.key,
                context,
                1,
                ok=False,
                forced=force,
                principal=self._guard.principal,
            )
            raise
        if entry.key.state is _RETIRED and not force:
            del out
            emit(
                self._audit,
                audit_op,
                cipher.key,
                context,
                1,
                ok=False,
                principal=self._guard.principal,
            )
            raise retired(cipher.key)
        if self._audit is not None:
            who = self._guard.principal
            try:
                emit(self._audit, audit_op, cipher.key, context, 1, forced=force, principal=who)
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
        return self._decrypt_many(ciphertexts, context, contexts, force, ("decrypt",), "decrypt")

    def _decrypt_many(
        self,
        ciphertexts: Sequence[bytes | str],
        context: Context | None,
        contexts: Sequence[Context] | None,
        force: bool,
        ops: tuple[str, ...],
        audit_op: str,
    ) -> list[bytes]:
        """:meth:`decrypt_many`, allowed by a grant of one of ``ops``, recorded as
        ``audit_op``."""
        if not isinstance(ciphertexts, list | tuple):
            ciphertexts = list(ciphertexts)
        datas = to_binary_many(ciphertexts)  # the text form decoded in bulk
        n = len(datas)
        ctx = batch_contexts(n, context, contexts)
        if not n:
            return []
        shown = context or (contexts[0] if contexts else {})
        who = self._guard.principal
        out: list[bytes] = [b""] * n
        # grouped by the envelope: one key lookup and audit event per key version, one batch
        # call per header (writer); usually one of each. Every version is allowed (grants,
        # rate limits) before any item is opened: a refusal leaves no plaintext behind
        parts = [(part, self._ciphers.of_version(part)) for part in version_groups(datas)]
        for part, cipher in parts:
            self._allow(ops, audit_op, cipher.key.name, shown, part.total)
        for part, cipher in parts:
            for group in part.groups:
                try:
                    plain = open_group(cipher, group, datas, ctx)
                except DecryptionError:
                    emit(
                        self._audit,
                        audit_op,
                        cipher.key,
                        shown,
                        part.total,
                        ok=False,
                        forced=force,
                        principal=who,
                    )
                    raise
                if cipher.key.state is KeyState.RETIRED and not force:
                    # told only now that the items authenticated (as in decrypt)
                    del plain
                    emit(
                        self._audit,
                        audit_op,
                        cipher.key,
                        shown,
                        part.total,
                        ok=False,
                        principal=who,
                    )
                    raise retired(cipher.key)
                out = group.place(out, plain)
                del plain
            try:
                emit(
                    self._audit,
                    audit_op,
                    cipher.key,
                    shown,
                    part.total,
                    forced=force,
                    principal=who,
                )
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
        self._allow(("tokenize",), "tokenize", key_name, context, 1)
        try:
            out = self._tokenizer().tokenize(
                key_name, value, format=format, context=context, version=version
            )
        except Exception:
            self._failed("tokenize", key_name, version, context, 1)
            raise
        emit_name(
            self._audit, "tokenize", key_name, version, context, 1, principal=self._guard.principal
        )
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
        return self._detokenize(key_name, [token], format, context, version, ("detokenize",))[0]

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
        if not isinstance(values, list | tuple):
            values = list(values)
        self._allow(("tokenize",), "tokenize", key_name, context, len(values))
        try:
            out = self._tokenizer().tokenize_many(
                key_name, values, format=format, context=context, version=version
            )
        except Exception:
            self._failed("tokenize", key_name, version, context, len(values))
            raise
        emit_name(
            self._audit,
            "tokenize",
            key_name,
            version,
            context,
            len(out),
            principal=self._guard.principal,
        )
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
        return self._detokenize(key_name, tokens, format, context, version, ("detokenize",))

    def _detokenize(
        self,
        key_name: str,
        tokens: Sequence[str],
        format: FormatArg,
        context: Context,
        version: int | None,
        ops: tuple[str, ...],
        audit_op: str = "detokenize",
    ) -> list[str]:
        """Plaintexts of ``tokens``, allowed by a grant of one of ``ops``, recorded as
        ``audit_op`` before they are returned."""
        if not isinstance(tokens, list | tuple):
            tokens = list(tokens)
        n = len(tokens)
        self._allow(ops, audit_op, key_name, context, n)
        tokenizer = self._tokenizer()
        try:
            if tokens.__class__ is list and n == 1:  # the single-call path
                out = [
                    tokenizer.detokenize(
                        key_name, tokens[0], format=format, context=context, version=version
                    )
                ]
            else:
                out = tokenizer.detokenize_many(
                    key_name, tokens, format=format, context=context, version=version
                )
        except Exception:
            self._failed(audit_op, key_name, version, context, n)
            raise
        try:
            emit_name(
                self._audit,
                audit_op,
                key_name,
                version,
                context,
                n,
                principal=self._guard.principal,
            )
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
        self._allow(("search",), "blind_index", key_name, context, 1)
        try:
            out = self._indexer().compute(
                key_name, value, context=context, bits=bits, version=version, kind=kind
            )
        except Exception:
            self._failed("blind_index", key_name, version, context, 1)
            raise
        emit_name(
            self._audit,
            "blind_index",
            key_name,
            version,
            context,
            1,
            principal=self._guard.principal,
        )
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
        if not isinstance(values, list | tuple):
            values = list(values)
        self._allow(("search",), "blind_index", key_name, context, len(values))
        try:
            out = self._indexer().compute_many(
                key_name, values, context=context, bits=bits, version=version, kind=kind
            )
        except Exception:
            self._failed("blind_index", key_name, version, context, len(values))
            raise
        emit_name(
            self._audit,
            "blind_index",
            key_name,
            version,
            context,
            len(out),
            principal=self._guard.principal,
        )
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
        self._allow(("search",), "blind_index", key_name, context, 1)
        try:
            out = self._indexer().candidates(key_name, value, context=context, bits=bits, kind=kind)
        except Exception:
            self._failed("blind_index", key_name, None, context, 1)
            raise
        emit_name(
            self._audit,
            "blind_index",
            key_name,
            None,
            context,
            1,
            principal=self._guard.principal,
        )
        return out

    # -- masked reveal (reveal_masked: never a plaintext out) ----------------------------------
    def decrypt_masked(
        self,
        ciphertext: bytes | str,
        *,
        context: Context,
        kind: str,
        force: bool = False,
    ) -> str:
        """The plaintext of ``ciphertext`` masked by ``kind``'s display rule
        (:func:`vaultkit.masking.mask`): decrypted inside vaultkit, never returned.

        Allowed by a grant of ``reveal_masked`` (or ``decrypt``) on the key; recorded as
        ``decrypt_masked``. A plaintext that is not UTF-8 text raises ``InputFormatError``
        naming the rule, never the value.
        """
        spec = masking_kind(kind)
        plain = self._decrypt(
            ciphertext, context, force, ("reveal_masked", "decrypt"), "decrypt_masked"
        )
        shown = masked_plaintext(spec, plain)
        del plain
        if shown is None:
            raise InputFormatError("the decrypted value is not UTF-8 text", kind=spec)
        return shown

    def decrypt_masked_many(
        self,
        ciphertexts: Sequence[bytes | str],
        *,
        context: Context | None = None,
        contexts: Sequence[Context] | None = None,
        kind: str,
        force: bool = False,
    ) -> list[str]:
        """:meth:`decrypt_masked` for many ciphertexts (as :meth:`decrypt_many`)."""
        spec = masking_kind(kind)
        plains = self._decrypt_many(
            ciphertexts, context, contexts, force, ("reveal_masked", "decrypt"), "decrypt_masked"
        )
        shown = [masked_plaintext(spec, p) for p in plains]
        del plains
        if any(s is None for s in shown):
            raise InputFormatError("a decrypted value is not UTF-8 text", kind=spec)
        return shown  # type: ignore[return-value]  # no None left

    def detokenize_masked(
        self,
        key_name: str,
        token: str,
        *,
        format: FormatArg,
        context: Context,
        kind: str | None = None,
        version: int | None = None,
    ) -> str:
        """The value of ``token`` masked by ``kind``'s display rule (by default the kind
        ``format`` names, e.g. ``"card_no"``): detokenized inside vaultkit, never returned.
        Allowed by a grant of ``reveal_masked`` (or ``detokenize``); recorded as
        ``detokenize_masked``."""
        return self.detokenize_masked_many(
            key_name, [token], format=format, context=context, kind=kind, version=version
        )[0]

    def detokenize_masked_many(
        self,
        key_name: str,
        tokens: Sequence[str],
        *,
        format: FormatArg,
        context: Context,
        kind: str | None = None,
        version: int | None = None,
    ) -> list[str]:
        """:meth:`detokenize_masked` for many tokens in one batch."""
        if kind is None:
            if not isinstance(format, str):
                raise VaultkitTypeError("give kind= to mask values of a custom token format")
            kind = format
        spec = masking_kind(kind)
        plains = self._detokenize(
            key_name,
            tokens,
            format,
            context,
            version,
            ("reveal_masked", "detokenize"),
            "detokenize_masked",
        )
        shown = [masked_plaintext(spec, p) for p in plains]
        del plains
        if any(s is None for s in shown):  # pragma: no cover - detokenized values are text
            raise InputFormatError("a detokenized value could not be masked", kind=spec)
        return shown  # type: ignore[return-value]  # no None left

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

    # -- search candidates under retired versions (vaultkit._facade.retired) -------------------
    def retired_index_candidates(
        self,
        key_name: str,
        value: object,
        *,
        context: Context,
        bits: int,
        kind: str | Compound | None = None,
    ) -> list[tuple[int, bytes]]:
        """``(version, index)`` of ``value`` under each *retired* version of the key (empty
        without one), so a search can refuse the rows it would miss: never for writing
        (``blind_index(version=<retired>)`` still raises ``KeyStateError``). Allowed by a
        grant of ``search``; recorded as ``blind_index`` (as ``blind_index_candidates``)."""
        self._allow(("search",), "blind_index", key_name, context, 1)
        try:
            versions = retired_versions(self.keys, key_name)
            out = retired_indexes(
                self.keys, versions, key_name, value, context=context, bits=bits, kind=kind
            )
        except Exception:
            self._failed("blind_index", key_name, None, context, 1)
            raise
        emit_name(self._audit, "blind_index", key_name, None, context, 1, principal=self.principal)
        return out

    def retired_token_candidates(
        self, key_name: str, values: Sequence[str], *, format: FormatArg, context: Context
    ) -> list[tuple[int, str]]:
        """``(version, token)`` of each of ``values`` under each *retired* version of the key
        (version by version; empty without one), so a search can refuse the rows it would
        miss: never for writing (``tokenize(version=<retired>)`` still raises
        ``KeyStateError``). Allowed by a grant of ``tokenize``; recorded as ``tokenize``."""
        if not isinstance(values, list | tuple):
            values = list(values)
        n = len(values)
        self._allow(("tokenize",), "tokenize", key_name, context, n)
        try:
            versions = retired_versions(self.keys, key_name)
            out = retired_tokens(
                self.keys, versions, key_name, values, format=format, context=context
            )
        except Exception:
            self._failed("tokenize", key_name, None, context, n)
            raise
        emit_name(self._audit, "tokenize", key_name, None, context, n, principal=self.principal)
        return out
