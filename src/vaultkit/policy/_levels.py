"""Sensitivity levels and kinds of personal financial information (JR/T 0171-2020)."""

from __future__ import annotations

import enum

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
    so ``mask("card_no", ...)`` and ``mask(Kind.CARD_NO, ...)`` are the same.
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
        """The PBOC category this kind belongs to (a category is its own category)."""
        return _CATEGORY.get(self, self)

    @property
    def default_level(self) -> Level:
        """The level JR/T 0171-2020 gives this kind."""
        return _LEVEL.get(self, Level.C3 if self.category is Kind.AUTHENTICATION else Level.C2)

    def __str__(self) -> str:
        return self.value


_CATEGORY = {
    Kind.NAME: Kind.IDENTITY,
    Kind.CN_ID: Kind.IDENTITY,
    Kind.MOBILE: Kind.IDENTITY,
    Kind.ADDRESS: Kind.IDENTITY,
    Kind.EMAIL: Kind.IDENTITY,
    Kind.CARD_NO: Kind.ACCOUNT,
    Kind.ACCOUNT_NO: Kind.ACCOUNT,
    Kind.ACCOUNT_OPENED: Kind.ACCOUNT,
    Kind.PAYMENT_TOKEN: Kind.ACCOUNT,
    Kind.BALANCE: Kind.PROPERTY,
    Kind.INCOME: Kind.PROPERTY,
    Kind.CREDIT_RECORD: Kind.CREDIT,
    Kind.TRANSACTION_RECORD: Kind.TRANSACTION,
    Kind.PASSWORD: Kind.AUTHENTICATION,
    Kind.PIN: Kind.AUTHENTICATION,
    Kind.CVN2: Kind.AUTHENTICATION,
    Kind.CARD_EXPIRY: Kind.AUTHENTICATION,
    Kind.TRACK_DATA: Kind.AUTHENTICATION,
    Kind.BIOMETRIC: Kind.AUTHENTICATION,
}

_LEVEL = {Kind.ACCOUNT_OPENED: Level.C1, Kind.PAYMENT_TOKEN: Level.C1}
