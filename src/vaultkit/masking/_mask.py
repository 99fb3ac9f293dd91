"""Display masking: pure functions of the value and a rule; no keys, never raise on content.

A value too short to keep its ends and still hide ``min_masked`` characters is masked entirely,
so masking never shows more than the rule allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol, runtime_checkable

# the kind registry imports the rules of this package: a module reference, read at call time
from vaultkit import kinds as _kinds
from vaultkit.errors import VaultkitTypeError
from vaultkit.identifiers._text import clean
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
    _EndsMask,
)

_CARD_RULE = CardMask()
_CN_ID_RULE = CnIdMask()
_MOBILE_RULE = MobileMask()
_ACCOUNT_RULE = AccountMask()
_NAME_RULE = NameMask()
_ADDRESS_RULE = AddressMask()
_EMAIL_RULE = EmailMask()
_FULL_RULE = FullMask()

__all__ = [
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


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise VaultkitTypeError("masking takes a str")
    return value


def _ends(text: str, rule: _EndsMask) -> str:
    hidden = len(text) - rule.keep_prefix - rule.keep_suffix
    if hidden < max(rule.min_masked, 1):
        return rule.char * len(text)
    return text[: rule.keep_prefix] + rule.char * hidden + text[len(text) - rule.keep_suffix :]


def mask_card(value: str, *, rule: CardMask = _CARD_RULE) -> str:
    """``6222021234567890128`` -> ``622202*********0128`` (separators removed)."""
    return _ends(clean(_text(value), separators=True), rule)


def mask_cn_id(value: str, *, rule: CnIdMask = _CN_ID_RULE) -> str:
    """``11010519491231002X`` -> ``110105********002X``."""
    return _ends(clean(_text(value), separators=False).upper(), rule)


def mask_mobile(value: str, *, rule: MobileMask = _MOBILE_RULE) -> str:
    """``13812345678`` -> ``138****5678`` (separators and a +86 prefix removed)."""
    text = clean(_text(value), separators=True)
    if text.startswith("+86"):
        text = text[3:]
    return _ends(text, rule)


def mask_account(value: str, *, rule: AccountMask = _ACCOUNT_RULE) -> str:
    """``6222021234567890128`` -> ``***************0128`` (separators removed)."""
    return _ends(clean(_text(value), separators=True), rule)


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def mask_name(value: str, *, rule: NameMask = _NAME_RULE) -> str:
    """``张三`` -> ``张*``, ``欧阳娜娜`` -> ``欧阳**``, ``John Smith`` -> ``J*********``."""
    text = _text(value).strip()
    if not text:
        return text
    keep = 1
    if rule.keep_surname and _is_han(text[0]):
        for n in (4, 2):  # 爱新觉罗 first, then two-character compound surnames
            if text[:n] in COMPOUND_SURNAMES and len(text) > n:
                keep = n
                break
    hidden = len(text) - keep
    if hidden <= 0:
        return rule.char * len(text)
    return text[:keep] + rule.char * (hidden if rule.width is None else rule.width)


_MUNICIPALITIES = ("北京", "天津", "上海", "重庆")
_PROVINCES = (
    "河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 "
    "云南 陕西 甘肃 青海 台湾"
).split()
_REGIONS = {
    "内蒙古": "内蒙古自治区",
    "广西": "广西壮族自治区",
    "西藏": "西藏自治区",
    "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区",
    "香港": "香港特别行政区",
    "澳门": "澳门特别行政区",
}
# A prefecture-level division: a city (市), autonomous prefecture (自治州), prefecture (地区) or
# league (盟), named in at most 12 characters.
_CITY = re.compile(r"[^\s省市区县]{1,12}?(?:市|自治州|地区|盟)")


def _province_len(text: str) -> tuple[int, bool]:
    """Length of the leading province-level name (0 if none) and whether it is a municipality
    or SAR (which has no separate city level)."""
    for name in _MUNICIPALITIES:
        if text.startswith(name):
            return len(name) + (text[len(name)] == "市" if len(text) > len(name) else 0), True
    for short, full in _REGIONS.items():
        if text.startswith(full):
            return len(full), short in ("香港", "澳门")
        if text.startswith(short):
            return len(short), short in ("香港", "澳门")
    for name in _PROVINCES:
        if text.startswith(name + "省"):
            return len(name) + 1, False
        if text.startswith(name):
            return len(name), False
    return 0, False


def mask_address(value: str, *, rule: AddressMask = _ADDRESS_RULE) -> str:
    """``广东省深圳市南山区科技园路1号`` -> ``广东省深圳市*********``."""
    text = _text(value).strip()
    keep, no_city = _province_len(text)
    if rule.keep == "city" and not no_city:
        city = _CITY.match(text, keep)
        if city is not None:
            keep = city.end()
    hidden = len(text) - keep
    if keep == 0 or hidden <= 0:
        return rule.char * (len(text) if rule.width is None else rule.width)
    return text[:keep] + rule.char * (hidden if rule.width is None else rule.width)


def mask_email(value: str, *, rule: EmailMask = _EMAIL_RULE) -> str:
    """``zhangsan@example.com`` -> ``z***@example.com``."""
    text = _text(value).strip()
    local, at, domain = text.rpartition("@")
    if not at or not local:
        return rule.char * max(rule.width, 1)
    shown = local[: rule.keep_prefix] if len(local) > rule.keep_prefix else ""
    return shown + rule.char * rule.width + ("@" + domain if rule.keep_domain else "")


def mask_full(value: str, *, rule: FullMask = _FULL_RULE) -> str:
    """Any value -> ``****`` (``rule.width`` characters)."""
    _text(value)
    return rule.char * rule.width


@runtime_checkable
class _CarriesMaskRule(Protocol):
    """A sensitivity policy (``vaultkit.policy.Policy``) carries its kind's mask rule."""

    @property
    def mask_rule(self) -> MaskRule: ...


# The masking function of each rule type.
_BY_RULE: dict[type, Callable[..., str]] = {
    CardMask: mask_card,
    CnIdMask: mask_cn_id,
    MobileMask: mask_mobile,
    AccountMask: mask_account,
    NameMask: mask_name,
    AddressMask: mask_address,
    EmailMask: mask_email,
    FullMask: mask_full,
}


def _apply(rule: MaskRule, value: str) -> str:
    fn = _BY_RULE.get(type(rule))
    if fn is None:
        raise VaultkitTypeError("policy must be a masking rule or a vaultkit.policy.Policy")
    return fn(value, rule=rule)


def default_rule(kind: str) -> MaskRule:
    """The rule of ``kind`` in the kind registry (:mod:`vaultkit.kinds`; ``FullMask()`` for
    kinds without a display structure). Raises :class:`~vaultkit.errors.UnknownKindError` for
    a name the registry does not know."""
    return _kinds.lookup(kind, what="mask kind").mask_rule


def mask(kind: str, value: str, *, policy: MaskRule | _CarriesMaskRule | None = None) -> str:
    """Mask ``value`` for display as ``kind``, a kind of :mod:`vaultkit.kinds` (``"card_no"``
    or its alias ``"card"``, ``"cn_id"``, ``"mobile"``, ``"account_no"``, ``"name"``,
    ``"address"``, ``"email"``, ``"uscc"``; kinds without a display structure, such as
    ``"balance"``, are masked fully). An unknown kind raises
    :class:`~vaultkit.errors.UnknownKindError` naming the closest kinds.

    ``kind`` may be a ``vaultkit.policy.Kind``. ``policy`` is a rule (``CardMask(...)``, ...) or
    a ``vaultkit.policy.Policy``, whose mask rule is used; None means the kind's default rule.
    """
    spec = _kinds.lookup(kind, what="mask kind")
    if isinstance(policy, _CarriesMaskRule):
        rule: MaskRule = policy.mask_rule
    elif policy is None:
        rule = spec.mask_rule
    else:
        rule = policy
    return _apply(rule, value)
