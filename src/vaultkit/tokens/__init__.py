"""Format-preserving tokens for Chinese financial identifiers (FF1, NIST SP 800-38G).

FF1-SM4 (default) or FF1-AES256, deterministic per key version and tweak; the tweak comes from
the caller's context. See ``docs/tokens.md``::

    tok = Tokenizer(key_ring)
    t = tok.tokenize("customers.card", "6222021234567890128", format="card",
                     context={"table": "customers", "column": "card_no"})
"""

from vaultkit.tokens._alphabet import ALPHANUMERIC, DIGITS, AlphabetFormat
from vaultkit.tokens._base import TokenFormat
from vaultkit.tokens._card import CardFormat
from vaultkit.tokens._cn_id import CnIdFormat
from vaultkit.tokens._mobile import MobileFormat
from vaultkit.tokens._tokenizer import FORMATS, Tokenizer
from vaultkit.tokens._tweak import TWEAK_LEN, derive_tweak
from vaultkit.tokens._uscc import UsccFormat

__all__ = [
    "ALPHANUMERIC",
    "DIGITS",
    "FORMATS",
    "TWEAK_LEN",
    "AlphabetFormat",
    "CardFormat",
    "CnIdFormat",
    "MobileFormat",
    "TokenFormat",
    "Tokenizer",
    "UsccFormat",
    "derive_tweak",
]
