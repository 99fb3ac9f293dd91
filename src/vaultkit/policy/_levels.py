"""Sensitivity levels and kinds of personal financial information (JR/T 0171-2020)."""

from __future__ import annotations

import enum

from vaultkit import kinds

__all__ = ["Kind", "Level", "Protection"]


class Level(enum.IntEnum):
    """JR/T 0171-2020 4.2 sensitivity levels (ordered: ``Level.C3 > Level.C2``)."""

    C1 = 1  # internal information assets: account-opening time, opening branch, payment tokens
    C2 = 2  # identifies a person or their financial situation: card, account, ID numbers, ...
    C3 = 3  # user authentication data: passwords, PINs, CVN2, card expiry, track data, biometrics


class Protection(enum.Enum):
    """What may be done with a column's values."""

    ENCRYPT = "encrypt"  # reversible field encryption (vaultkit.envelope)
    TOKEN = "token"  # noqa: S105  # format-preserving token (vaultkit.tokens)
    BLIND_INDEX = "blind_index"  # keyed one-way index for equality search (vaultkit.blindindex)
    MASK = "mask"  # masked display (vaultkit.masking)
    VERIFIER = "verifier"  # one-way verifier only (vaultkit.policy.Verifier)


class Kind(str, enum.Enum):
    """PBOC categories of personal financial information and concrete kinds within them.

    Categories (JR/T 0171-2020 4.1; PBOC 金融消费者权益保护实施办法): identity (个人身份信息),
    property (财产信息), account (账户信息), credit (借贷/信用信息), transaction (金融交易信息),
    derived (衍生信息) and authentication (鉴别信息). A ``Kind`` is also a ``str`` (its value),
    so ``mask("card_no", ...)`` and ``mask(Kind.CARD_NO, ...)`` are the same. The members are
    the kinds of the registry :mod:`vaultkit.kinds`, which holds their category, level, mask
    rule, token format and normalization; ``Kind("card")`` (the registry's alias) is
    ``Kind.CARD_NO``.
    """

    IDENTITY = "identity"
    PROPERTY = "property"
    ACCOUNT = "account"
    CREDIT = "credit"
    TRANSACTION = "transaction"
    DERIVED = "derived"
    AUTHENTICATION = "authentication"
    # identity
    NAME = "name"
    CN_ID = "cn_id"
    MOBILE = "mobile"
    ADDRESS = "address"
    EMAIL = "email"
    USCC = "uscc"  # unified social credit code: identifies an organisation, not a person (C1)
    # account
    CARD_NO = "card_no"
    ACCOUNT_NO = "account_no"
    ACCOUNT_OPENED = "account_opened"  # account-opening time and branch: C1
    PAYMENT_TOKEN = "payment_token"  # noqa: S105  # payment tokens from account data: C1
    # property, credit, transaction
    BALANCE = "balance"
    INCOME = "income"
    CREDIT_RECORD = "credit_record"
    TRANSACTION_RECORD = "transaction_record"
    # authentication (JR/T 0171-2020 4.2.1: C3)
    PASSWORD = "password"  # noqa: S105
    PIN = "pin"
    CVN2 = "cvn2"
    CARD_EXPIRY = "card_expiry"
    TRACK_DATA = "track_data"
    BIOMETRIC = "biometric"

    @property
    def category(self) -> Kind:
        """The PBOC category this kind belongs to (a category is its own category), from the
        kind registry (:mod:`vaultkit.kinds`)."""
        return Kind(kinds.lookup(self.value).category)

    @property
    def default_level(self) -> Level:
        """The level JR/T 0171-2020 gives this kind (from :mod:`vaultkit.kinds`)."""
        return Level[kinds.lookup(self.value).level]

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> Kind | None:
        if isinstance(value, str) and value in kinds.ALIASES:
            return cls(kinds.ALIASES[value])
        return None
