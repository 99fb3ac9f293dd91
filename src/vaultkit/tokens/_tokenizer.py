"""Tokenizer: token formats under versioned FF1 keys from a key provider."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal

from vaultkit import kinds
from vaultkit._nopickle import NoPickle
from vaultkit.errors import VaultkitTypeError
from vaultkit.hazmat.ff1 import FF1
from vaultkit.keys import Algorithm, DataKey, KeyProvider
from vaultkit.keys._model import recipe_key
from vaultkit.tokens._alphabet import ALPHANUMERIC, DIGITS, AlphabetFormat
from vaultkit.tokens._base import TokenFormat, check_strings
from vaultkit.tokens._card import CardFormat
from vaultkit.tokens._cn_id import CnIdFormat
from vaultkit.tokens._mobile import MobileFormat
from vaultkit.tokens._tweak import derive_tweak
from vaultkit.tokens._uscc import UsccFormat

_FF1 = frozenset({Algorithm.FF1_SM4, Algorithm.FF1_AES256})

__all__ = ["FORMATS", "Tokenizer", "resolve_format"]

Context = Mapping[str, "str | bytes"]

# The token formats by canonical name: a kind's format (vaultkit.kinds names the format of each
# kind; "card" is the registry's alias of "card_no") or a generic one (digits, alphanumeric).
FORMATS: Mapping[str, TokenFormat] = MappingProxyType(
    {
        "card_no": CardFormat(),
        "cn_id": CnIdFormat(),
        "mobile": MobileFormat(),
        "uscc": UsccFormat(),
        "digits": AlphabetFormat(alphabet=DIGITS),
        "alphanumeric": AlphabetFormat(alphabet=ALPHANUMERIC),
    }
)

_CACHE_LIMIT = 64
# format names resolved so far (the registry is fixed: a name always resolves the same way)
_RESOLVED: dict[str, TokenFormat] = {}


def resolve_format(format: str | TokenFormat) -> TokenFormat:
    """A format object from a name (a kind of :mod:`vaultkit.kinds` with a token format, its
    alias, or a generic format: see :data:`FORMATS`) or a format object. An unknown name raises
    :class:`~vaultkit.errors.UnknownKindError` naming the closest formats."""
    if isinstance(format, str):
        found = _RESOLVED.get(format)
        if found is None:
            found = FORMATS[kinds.token_format(format)]
            if len(_RESOLVED) < _CACHE_LIMIT:  # names in use: a handful
                _RESOLVED[format] = found
        return found
    if isinstance(format, TokenFormat):
        return format
    raise VaultkitTypeError("format must be a format name or a token format object")


class Tokenizer(NoPickle):
    """Format-preserving tokens (FF1, SP 800-38G) under FF1 keys of a key provider.

    ``format`` is a name (``"card_no"`` or its alias ``"card"``, ``"cn_id"``, ``"mobile"``,
    ``"uscc"``, ``"account_no"``, ``"digits"``, ``"alphanumeric"``: see :mod:`vaultkit.kinds`)
    or a format object (``CardFormat(keep_prefix=8, luhn="invalid")``). ``context`` (a mapping
    of str to str or bytes, e.g. ``{"table": "customers", "column": "card_no"}``) gives the
    tweak: equal values in different contexts get different tokens;
    use the same context in two tables to join them on tokens.

    Key versions: a token does not carry its key version. ``version=None`` means the key's
    primary version, for tokenizing and detokenizing alike; store the version next to the token
    (:meth:`primary_version` says which one a call with ``version=None`` uses, or pass
    ``version=`` explicitly) and pass it back to detokenize. Older versions stay detokenizable
    while the key ring keeps them readable.
    """

    __slots__ = ("_ff1", "_keys", "_lock", "_tweaks")

    def __init__(self, keys: KeyProvider) -> None:
        self._keys = keys
        self._ff1: dict[tuple[bytes, Algorithm, int, str | None], FF1] = {}
        # tweaks by (algorithm, format label, context items): a hash per context, not per call
        self._tweaks: dict[tuple[Algorithm, str, tuple[object, ...]], bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "<Tokenizer>"

    # -- API -------------------------------------------------------------------------------------
    def primary_version(self, key_name: str) -> int:
        """The version ``version=None`` selects now (store it beside the tokens it makes)."""
        return self._keys.primary_key(key_name).version

    def tokenize(
        self,
        key_name: str,
        value: str,
        *,
        format: str | TokenFormat,
        context: Context,
        version: int | None = None,
    ) -> str:
        """The token of ``value``."""
        return self.tokenize_many(
            key_name, [value], format=format, context=context, version=version
        )[0]

    def detokenize(
        self,
        key_name: str,
        token: str,
        *,
        format: str | TokenFormat,
        context: Context,
        version: int | None = None,
    ) -> str:
        """The value of ``token`` (made under key ``version``; None: the primary)."""
        return self.detokenize_many(
            key_name, [token], format=format, context=context, version=version
        )[0]

    def tokenize_many(
        self,
        key_name: str,
        values: Sequence[str],
        *,
        format: str | TokenFormat,
        context: Context,
        version: int | None = None,
    ) -> list[str]:
        """Tokens of ``values``, in one FF1 batch call (per cycle-walking round)."""
        fmt = resolve_format(format)
        key = self._key(key_name, version)
        return fmt.tokenize_many(self._ff1_for(key), values, self._tweak(key, fmt, context))

    def detokenize_many(
        self,
        key_name: str,
        tokens: Sequence[str],
        *,
        format: str | TokenFormat,
        context: Context,
        version: int | Sequence[int] | None = None,
    ) -> list[str]:
        """Values of ``tokens``. ``version`` is one version for all, None (the primary), or one
        version per token (tokens are then grouped: one batch per version)."""
        fmt = resolve_format(format)
        if version is None or isinstance(version, int):
            key = self._key(key_name, version)
            return fmt.detokenize_many(self._ff1_for(key), tokens, self._tweak(key, fmt, context))
        items = check_strings(tokens, "tokens")
        versions = list(version)
        if len(versions) != len(items):
            raise VaultkitTypeError("version must give one version per token")
        out = [""] * len(items)
        groups: dict[int, list[int]] = {}
        for i, v in enumerate(versions):
            groups.setdefault(v, []).append(i)
        for v, idx in groups.items():
            key = self._key(key_name, v)
            values = fmt.detokenize_many(
                self._ff1_for(key), [items[i] for i in idx], self._tweak(key, fmt, context)
            )
            for i, value in zip(idx, values, strict=True):
                out[i] = value
        return out

    # -- implementation --------------------------------------------------------------------------
    def _key(self, key_name: str, version: int | None) -> DataKey:
        return recipe_key(
            self._keys,
            key_name,
            version,
            accepts=_FF1,
            need="tokens need an FF1-SM4 or FF1-AES256 key",
        )

    def _tweak(self, key: DataKey, fmt: TokenFormat, context: Context) -> bytes:
        label = fmt.label
        try:  # a context of hashable items (str and bytes values) is looked up, else derived
            slot = (key.algorithm, label, tuple(context.items()))
            found = self._tweaks.get(slot)
        except (AttributeError, TypeError):
            return derive_tweak(key.algorithm, label, context)  # refuses a bad context
        if found is None:
            found = derive_tweak(key.algorithm, label, context)  # checks the context first
            with self._lock:
                if len(self._tweaks) >= _CACHE_LIMIT:
                    self._tweaks.clear()
                self._tweaks[slot] = found
        return found

    def _ff1_for(self, key: DataKey) -> Any:
        material, algorithm = key.material, key.algorithm
        cipher: Literal["SM4", "AES"] = "SM4" if algorithm is Algorithm.FF1_SM4 else "AES"

        def ff1(radix: int, alphabet: str | None) -> FF1:
            slot = (material, algorithm, radix, alphabet)
            found = self._ff1.get(slot)
            if found is None:
                found = FF1(material, cipher=cipher, radix=radix, alphabet=alphabet)
                with self._lock:
                    if len(self._ff1) >= _CACHE_LIMIT:
                        self._ff1.clear()
                    self._ff1[slot] = found
            return found

        return ff1
