"""The registry of kinds of personal financial information: one entry per kind.

An entry says everything vaultkit does per kind, and every package reads it from here:

* ``normalize``: validator and normalizer (:mod:`vaultkit.identifiers`); it is what a blind
  index of the kind is computed over (:mod:`vaultkit.blindindex`), and the kind is searchable
  by default when it has one (:mod:`vaultkit.policy`); ``normal_rows`` proves a whole batch is
  already normal (the blind-index fast path);
* ``token_format``: the name of its format-preserving token format in
  :data:`vaultkit.tokens.FORMATS` (None: no structured token);
* ``mask_rule``: its display masking rule (:mod:`vaultkit.masking`);
* ``category`` and ``level``: its PBOC category and JR/T 0171-2020 level (:mod:`vaultkit.policy`);
* ``scan``: how ``vaultkit scan`` finds it in stored text (:mod:`vaultkit.scan`; entries are
  tried in table order, so longer identifiers come before the ones they contain);
* ``aliases`` (accepted names) and ``hints`` (names users try, only suggested).

One vocabulary: every API and CLI option that names a kind, a mask kind or a token format takes
the canonical names below. ``card`` is the one alias: the token format was named ``card`` while
the kind was ``card_no``; both are accepted everywhere and resolved here, to ``card_no``.
Unknown names raise :class:`~vaultkit.errors.UnknownKindError` with the closest names.

Adding a kind is one entry in ``_TABLE`` (and ``vaultkit.policy.Kind`` gets a member of the same
name: a test keeps the two equal). The table is built once at import and is read-only.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Literal

from vaultkit.errors import UnknownKindError, VaultkitTypeError
from vaultkit.identifiers import (
    normalize_card,
    normalize_cn_id,
    normalize_mobile,
    normalize_uscc,
)
from vaultkit.identifiers._batch import card_rows, digit_rows, mobile_rows
from vaultkit.identifiers._free import normalize_account, normalize_email, normalize_name
from vaultkit.identifiers._text import passes

# the rule classes only: vaultkit.masking itself reads this registry
from vaultkit.masking import _rules as rules

__all__ = [
    "ALIASES",
    "GENERIC_FORMATS",
    "KINDS",
    "KindSpec",
    "ScanRule",
    "index_kind",
    "lookup",
    "token_format",
]

LevelName = Literal["C1", "C2", "C3"]  # vaultkit.policy.Level member names

# Token formats that belong to no kind: any string over an alphabet (vaultkit.tokens).
GENERIC_FORMATS = ("digits", "alphanumeric")


@dataclasses.dataclass(frozen=True)
class ScanRule:
    """How the scan finds a kind in text: ``pattern`` finds candidates (whole value or inside
    free text; lookarounds keep them from being cut out of longer runs), ``confirm`` checks one
    (None: the kind's ``normalize`` accepts it), so random digits are rarely taken for
    identifiers."""

    pattern: re.Pattern[str]
    confirm: Callable[[str], bool] | None = None


_FULL = rules.FullMask()


@dataclasses.dataclass(frozen=True)
class KindSpec:
    """One kind: see the module documentation for what each field drives."""

    name: str
    category: str
    level: LevelName = "C2"
    _: dataclasses.KW_ONLY
    aliases: tuple[str, ...] = ()
    normalize: Callable[[str], str] | None = None
    # proves a NUL-joined ASCII batch is already in normal form (batch fast paths)
    normal_rows: Callable[[bytes, Sequence[str]], bool] | None = None
    token_format: str | None = None
    mask_rule: rules.MaskRule = _FULL
    scan: ScanRule | None = None
    hints: tuple[str, ...] = ()  # names users try for this kind: suggested, never accepted

    def is_valid(self, value: str) -> bool:
        """True when the scan's confirmation (or ``normalize``) accepts ``value``."""
        if self.scan is not None and self.scan.confirm is not None:
            return self.scan.confirm(value)
        return self.normalize is not None and passes(self.normalize, value)


def _email_length(value: str) -> bool:
    return len(value) <= 254  # RFC 5321 4.5.3.1.3: a path holds at most 256 octets


# PBOC categories (JR/T 0171-2020 4.1; PBOC 金融消费者权益保护实施办法) are kinds too (a category
# is its own category). Levels: JR/T 0171-2020 4.2.
_TABLE: tuple[KindSpec, ...] = (
    KindSpec("identity", "identity"),  # 个人身份信息
    KindSpec("property", "property"),  # 财产信息
    KindSpec("account", "account"),  # 账户信息
    KindSpec("credit", "credit"),  # 借贷/信用信息
    KindSpec("transaction", "transaction"),  # 金融交易信息
    KindSpec("derived", "derived"),  # 衍生信息
    KindSpec("authentication", "authentication", "C3"),  # 鉴别信息
    # identity information (ID numbers: JR/T 0171-2020 Annex A), C2
    KindSpec(
        "cn_id",
        "identity",
        normalize=normalize_cn_id,
        token_format="cn_id",  # noqa: S106 - a format name, not a password
        mask_rule=rules.CnIdMask(),
        hints=("id", "id_no", "id_card", "idcard", "resident_id"),
        scan=ScanRule(re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")),
    ),
    # account information (card numbers): UnionPay, Visa, Mastercard, JCB, Amex prefixes
    KindSpec(
        "card_no",
        "account",
        aliases=("card",),
        normalize=normalize_card,
        normal_rows=card_rows,
        token_format="card_no",  # noqa: S106 - a format name, not a password
        mask_rule=rules.CardMask(),
        hints=("bank_card", "card_number", "pan"),
        scan=ScanRule(re.compile(r"(?<!\d)(?:62|4|5[1-5]|35|3[47])\d{10,17}(?!\d)")),
    ),
    # identity information (contact): mainland mobile numbers
    KindSpec(
        "mobile",
        "identity",
        normalize=normalize_mobile,
        normal_rows=mobile_rows,
        token_format="mobile",  # noqa: S106 - a format name, not a password
        mask_rule=rules.MobileMask(),
        hints=("phone", "tel", "telephone", "cellphone", "mobile_no"),
        scan=ScanRule(re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")),
    ),
    KindSpec(
        "email",
        "identity",
        normalize=normalize_email,
        mask_rule=rules.EmailMask(),
        scan=ScanRule(
            re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
            _email_length,
        ),
    ),
    # GB 32100 codes identify organisations, not persons: C1
    KindSpec(
        "uscc",
        "identity",
        "C1",
        normalize=normalize_uscc,
        token_format="uscc",  # noqa: S106 - a format name, not a password
        mask_rule=rules.AccountMask(),
        hints=("credit_code", "social_credit_code", "org_code"),
        scan=ScanRule(re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{18}(?![0-9A-Z])")),
    ),
    KindSpec("name", "identity", normalize=normalize_name, mask_rule=rules.NameMask()),
    KindSpec("address", "identity", mask_rule=rules.AddressMask()),
    KindSpec(
        "account_no",
        "account",
        normalize=normalize_account,
        normal_rows=digit_rows,
        token_format="digits",  # noqa: S106 - a format name, not a password
        mask_rule=rules.AccountMask(),
        hints=("account_number", "acct", "acct_no"),
    ),
    KindSpec("account_opened", "account", "C1"),  # account-opening time and branch
    KindSpec("payment_token", "account", "C1"),  # payment tokens from account data
    KindSpec("balance", "property"),
    KindSpec("income", "property"),
    KindSpec("credit_record", "credit"),
    KindSpec("transaction_record", "transaction"),
    # authentication data (JR/T 0171-2020 4.2.1): C3, one-way verifiers only
    KindSpec("password", "authentication", "C3"),
    KindSpec("pin", "authentication", "C3"),
    KindSpec("cvn2", "authentication", "C3"),
    KindSpec("card_expiry", "authentication", "C3"),
    KindSpec("track_data", "authentication", "C3"),
    KindSpec("biometric", "authentication", "C3"),
)

KINDS: Mapping[str, KindSpec] = MappingProxyType({k.name: k for k in _TABLE})
ALIASES: Mapping[str, str] = MappingProxyType({a: k.name for k in _TABLE for a in k.aliases})
_FORMAT_KINDS = tuple(k.name for k in _TABLE if k.token_format is not None)


def _names(value: object) -> str:
    if not isinstance(value, str):
        raise VaultkitTypeError("a kind is named by a str (or a vaultkit.policy.Kind)")
    return str(getattr(value, "value", value))


def _unknown(what: str, name: str, choices: tuple[str, ...]) -> UnknownKindError:
    key = name.lower()
    hinted = [k.name for k in _TABLE if key in k.hints and k.name in choices]
    close = hinted or difflib.get_close_matches(key, choices, n=3, cutoff=0.6)
    known = name in KINDS or name in ALIASES or name in GENERIC_FORMATS or name == "text"
    return UnknownKindError(what, name, choices, close, known=known)


def lookup(name: str, *, what: str = "kind") -> KindSpec:
    """The entry of the kind ``name`` (canonical or alias; a ``vaultkit.policy.Kind`` too).

    Raises :class:`~vaultkit.errors.UnknownKindError` with the closest names ("did you mean")
    and every accepted name; ``what`` names the vocabulary in that message (``"mask kind"``).
    """
    text = _names(name)
    found = KINDS.get(text) or KINDS.get(ALIASES.get(text, ""))
    if found is None:
        raise _unknown(what, text, (*KINDS, *ALIASES))
    return found


def token_format(name: str) -> str:
    """The canonical token format name for ``name``: a generic format (``digits``,
    ``alphanumeric``) or a kind with a token format (``card_no`` or its alias ``card``,
    ``cn_id``, ``mobile``, ``uscc``, ``account_no``: its format is ``digits``). Raises
    :class:`~vaultkit.errors.UnknownKindError` ("did you mean") otherwise."""
    text = _names(name)
    if text in GENERIC_FORMATS:
        return text
    choices = (
        *_FORMAT_KINDS,
        *(a for a, k in ALIASES.items() if k in _FORMAT_KINDS),
        *GENERIC_FORMATS,
    )
    spec = KINDS.get(text) or KINDS.get(ALIASES.get(text, ""))
    if spec is None or spec.token_format is None:
        raise _unknown("token format", text, choices)
    return spec.token_format


def index_kind(name: str | None) -> str:
    """The canonical blind-index normalization for ``name``: ``"text"`` (also for None) or a
    kind with a ``normalize`` (``card_no`` or ``card``, ``cn_id``, ``mobile``, ``uscc``,
    ``account_no``, ``email``, ``name``). Raises :class:`~vaultkit.errors.UnknownKindError`
    ("did you mean") otherwise."""
    if name is None:
        return "text"
    text = _names(name)
    if text == "text":
        return text
    spec = KINDS.get(text) or KINDS.get(ALIASES.get(text, ""))
    if spec is None or spec.normalize is None:
        indexed = tuple(k.name for k in _TABLE if k.normalize is not None)
        aliases = (a for a, k in ALIASES.items() if k in indexed)
        raise _unknown("index kind", text, ("text", *indexed, *aliases))
    return spec.name
