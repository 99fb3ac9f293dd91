"""Validators and normalizers of Chinese financial identifiers.

* card numbers: ISO/IEC 7812-1 length 12-19 and Luhn check digit;
* resident ID numbers: GB 11643-1999 (ISO 7064 MOD 11-2 check character, real birth date);
* unified social credit codes: GB 32100-2015 (31-character alphabet, check character) and the
  GB 11714 organisation code inside them;
* mainland mobile numbers.

``normalize_*`` return the canonical form or raise :class:`vaultkit.errors.InputFormatError`
naming the rule (the value masked); ``is_*`` are the matching predicates (for scans).
"""

from vaultkit.identifiers._cn_id import (
    ResidentId,
    cn_id_check_char,
    is_cn_id,
    normalize_cn_id,
    parse_cn_id,
    upgrade_legacy_cn_id,
)
from vaultkit.identifiers._luhn import (
    CARD_LENGTHS,
    is_card,
    luhn_check_digit,
    luhn_residue,
    luhn_valid,
    normalize_card,
)
from vaultkit.identifiers._mobile import is_mobile, normalize_mobile
from vaultkit.identifiers._uscc import (
    USCC_ALPHABET,
    is_uscc,
    normalize_uscc,
    org_code_check_char,
    uscc_check_char,
)

__all__ = [
    "CARD_LENGTHS",
    "USCC_ALPHABET",
    "ResidentId",
    "cn_id_check_char",
    "is_card",
    "is_cn_id",
    "is_mobile",
    "is_uscc",
    "luhn_check_digit",
    "luhn_residue",
    "luhn_valid",
    "normalize_card",
    "normalize_cn_id",
    "normalize_mobile",
    "normalize_uscc",
    "org_code_check_char",
    "parse_cn_id",
    "upgrade_legacy_cn_id",
    "uscc_check_char",
]
