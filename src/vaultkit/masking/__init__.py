"""Display masking of personal financial information: pure functions, no keys.

Each kind has a rule (a frozen dataclass) with defaults from common banking practice::

    mask_card("6222021234567890128")          # '622202*********0128'
    mask_cn_id("11010519491231002X")          # '110105********002X'
    mask_mobile("13812345678")                # '138****5678'
    mask_name("欧阳娜娜")                      # '欧阳**'
    mask("card_no", value, policy=CardMask(keep_prefix=0))
"""

from vaultkit.masking._mask import (
    default_rule,
    mask,
    mask_account,
    mask_address,
    mask_card,
    mask_cn_id,
    mask_email,
    mask_full,
    mask_mobile,
    mask_name,
)
from vaultkit.masking._names import COMPOUND_SURNAMES
from vaultkit.masking._rules import (
    AccountMask,
    AddressMask,
    CardMask,
    CnIdMask,
    EmailMask,
    FullMask,
    MaskRule,
    MobileMask,
    NameMask,
)

__all__ = [
    "COMPOUND_SURNAMES",
    "AccountMask",
    "AddressMask",
    "CardMask",
    "CnIdMask",
    "EmailMask",
    "FullMask",
    "MaskRule",
    "MobileMask",
    "NameMask",
    "default_rule",
    "mask",
    "mask_account",
    "mask_address",
    "mask_card",
    "mask_cn_id",
    "mask_email",
    "mask_full",
    "mask_mobile",
    "mask_name",
]
