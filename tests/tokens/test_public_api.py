"""The public surface of identifiers, the kind registry, tokens, blind indexes, masking and
policies is deliberate: changing it means changing this test."""

from __future__ import annotations

import importlib

import pytest

API = {
    "vaultkit.identifiers": [
        "CARD_LENGTHS", "ResidentId", "USCC_ALPHABET", "cn_id_check_char", "is_card",
        "is_cn_id", "is_mobile", "is_uscc", "luhn_check_digit", "luhn_residue", "luhn_valid",
        "normalize_card", "normalize_cn_id", "normalize_mobile", "normalize_uscc",
        "org_code_check_char", "parse_cn_id", "upgrade_legacy_cn_id", "uscc_check_char",
    ],
    "vaultkit.kinds": [
        "ALIASES", "GENERIC_FORMATS", "KINDS", "KindSpec", "ScanRule", "index_kind", "lookup",
        "token_format",
    ],
    "vaultkit.tokens": [
        "ALPHANUMERIC", "AlphabetFormat", "CardFormat", "CnIdFormat", "DIGITS", "FORMATS",
        "MobileFormat", "TWEAK_LEN", "TokenFormat", "Tokenizer", "UsccFormat", "derive_tweak",
    ],
    "vaultkit.blindindex": [
        "BlindIndexer", "Compound", "IndexPlan", "KINDS", "MAX_BITS", "PARTS", "plan", "recommend",
    ],
    "vaultkit.masking": [
        "AccountMask", "AddressMask", "COMPOUND_SURNAMES", "CardMask", "CnIdMask", "EmailMask",
        "FullMask", "MaskRule", "MobileMask", "NameMask", "default_rule", "mask", "mask_account",
        "mask_address", "mask_card", "mask_cn_id", "mask_email", "mask_full", "mask_mobile",
        "mask_name",
    ],
    "vaultkit.policy": ["Kind", "Level", "Policy", "Protection", "Verifier", "default_protections",
                        "is_authentication_column"],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(API))
def test_all_is_frozen(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == API[module]
    for name in mod.__all__:
        assert hasattr(mod, name)
