"""The ``Tokenized`` column type: format-preserving tokens (``Vault.tokenize``) stored as
``"<key version>:<token>"`` (the stored form is ``vaultkit.columns``': ``format_token``,
``parse_token``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, cast

from sqlalchemy import String, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from vaultkit import kinds
from vaultkit.columns import format_token, parse_token
from vaultkit.errors import (
    AccessDeniedError,
    DecryptionError,
    InputFormatError,
    KeyNotFoundError,
    KeyStateError,
    VaultkitError,
    VaultkitTypeError,
)
from vaultkit.ext.sqlalchemy import _policy
from vaultkit.ext.sqlalchemy._base import Protected, bound
from vaultkit.ext.sqlalchemy._binding import ColumnBinding, primary_version, readable_versions
from vaultkit.ext.sqlalchemy._marks import mark
from vaultkit.ext.sqlalchemy._retired import retired_versions
from vaultkit.ext.sqlalchemy._sealed import PRESEALED, stored_form

if TYPE_CHECKING:
    from vaultkit.policy import Level

__all__ = ["Tokenized"]


class Tokenized(Protected):
    """A column holding format-preserving tokens (``Vault.tokenize``) of ``format``.

    Stored as text ``"<key version>:<token>"`` (docs/sqlalchemy.md): FF1 tokens do not carry
    their key version, so the prefix tells detokenize which version to use, and a search tokenizes
    the bound value under every readable version. ``==``/``IN`` compare tokens, no decryption.
    """

    impl = String
    cache_ok = True
    _CACHE_ARGS = ("key_name", "format", "level", "kind", "length")

    def __init__(
        self,
        key_name: str,
        *,
        format: str,
        level: Level | str | None = None,
        kind: str | None = None,
        length: int = 80,
    ) -> None:
        if not isinstance(key_name, str) or not key_name:
            raise VaultkitTypeError("key_name is a non-empty str")
        kinds.token_format(format)  # UnknownKindError ("did you mean") at declaration
        _policy.check_reversible(level, kind)
        super().__init__()
        self.key_name = key_name
        self.format = format
        self.level = level
        self.kind = kind
        self.length = length
        self.impl = String(length)  # type: ignore[assignment]  # (instance, as in TypeDecorator)

    def _token(self, b: ColumnBinding, value: object, version: int | None) -> str:
        try:
            return b.vault.tokenize(
                self.key_name,
                cast(str, value),  # a Tokenized column's value (the format checks it)
                format=self.format,
                context=b.context,
                version=version,
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None

    def process_bind_param(self, value: object, dialect: Dialect) -> object:
        if value is None:
            return None
        if type(value) in PRESEALED:
            return stored_form(value)
        b = bound(self)
        version = primary_version(b.vault, self.key_name, b.where)
        return format_token(version, self._token(b, value, version))

    def process_result_value(self, value: str | None, dialect: Dialect) -> object:
        if value is None:
            return None
        try:
            return self.open_many([value])[0]
        except DecryptionError:
            raise DecryptionError(bound(self).where) from None

    def seal_many(self, values: Sequence[object]) -> list[str]:
        """Stored forms of ``values`` under the primary version: one ``tokenize_many``."""
        b = bound(self)
        version = primary_version(b.vault, self.key_name, b.where)
        try:
            tokens = b.vault.tokenize_many(
                self.key_name,
                cast("list[str]", list(values)),
                format=self.format,
                context=b.context,
                version=version,
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None
        return [format_token(version, t) for t in tokens]

    def open_many(self, stored: Sequence[str]) -> list[object]:
        """Values of stored tokens: one ``detokenize_many`` per key version. A failure raises
        ``DecryptionError("item <i>")`` naming the first bad item (never its value)."""
        b = bound(self)
        groups: dict[int, list[int]] = {}
        tokens: list[str] = []
        for i, s in enumerate(stored):
            try:
                version, token = parse_token(s)
            except InputFormatError:  # (its message names no value)
                raise DecryptionError(f"item {i}") from None
            groups.setdefault(version, []).append(i)
            tokens.append(token)
        out: list[object] = [None] * len(tokens)
        for version, idx in groups.items():
            try:
                plain = self._detokenize(b, [tokens[i] for i in idx], version)
            except DecryptionError:
                for i in idx:  # find the first bad item to name it
                    try:
                        self._detokenize(b, [tokens[i]], version)
                    except DecryptionError:
                        raise DecryptionError(f"item {i}") from None
                raise
            for i, p in zip(idx, plain, strict=True):
                out[i] = p
        return out

    def _detokenize(self, b: ColumnBinding, tokens: list[str], version: int) -> list[str]:
        try:
            return b.vault.detokenize_many(
                self.key_name, tokens, format=self.format, context=b.context, version=version
            )
        except KeyNotFoundError:
            readable_versions(b.vault, self.key_name, b.where)  # the key itself is missing?
            raise DecryptionError(b.where) from None  # no: an unknown version (unauthenticated)
        except KeyStateError as exc:
            raise KeyStateError(f"{exc} ({b.where})") from None
        except AccessDeniedError:  # the principal's grants: not a failed detokenization
            raise
        except VaultkitError:
            raise DecryptionError(b.where) from None

    def stored_candidates(self, values: Iterable[object]) -> list[str]:
        """The stored forms ``values`` may have: one per readable version of the token key."""
        b = bound(self)
        versions = readable_versions(b.vault, self.key_name, b.where)
        return [format_token(v, self._token(b, value, v)) for value in values for v in versions]

    def retired_candidates(self, values: Sequence[object]) -> list[tuple[int, str]]:
        """``(version, stored form)`` of ``values`` under each *retired* version of the token key.

        As :meth:`BlindIndex.retired_candidates`: a retired version no longer answers searches,
        so a search checks that no row holds one of these (``_search``) and raises
        ``KeyStateError`` if one does. A token is a bijection of the value under its version, so
        a row holding one holds the value (nothing to decrypt). Empty without retired versions.
        """
        b = bound(self)
        if not retired_versions(b, self.key_name):  # (metadata: no call without one)
            return []
        try:
            pairs = b.vault.retired_token_candidates(
                self.key_name,
                cast("list[str]", list(values)),
                format=self.format,
                context=b.context,
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None
        return [(v, format_token(v, t)) for v, t in pairs]

    def _equal_to(self, expr: ColumnElement[object], values: list[object]) -> ColumnElement[bool]:
        # the stored forms are compared as they are (String), not tokenized again
        stored = bindparam(None, self.stored_candidates(values), String(), expanding=True)
        in_op = TypeDecorator.Comparator(expr).operate(operators.in_op, stored)
        clause = cast("ColumnElement[bool]", in_op)  # (an IN clause: a boolean expression)
        retired = self.retired_candidates(values)
        if not retired:  # (unmarked: a statement without a mark costs _search nothing)
            return clause
        # a token matches its value only: nothing for exact search to filter (collides=False)
        return mark(clause, self, (), retired, collides=False)
