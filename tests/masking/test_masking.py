"""Display masking: the documented examples, every rule configurable, never more shown than the
rule allows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultkit.errors import UnknownKindError, VaultkitTypeError
from vaultkit.masking import (
    COMPOUND_SURNAMES,
    AccountMask,
    AddressMask,
    CardMask,
    CnIdMask,
    EmailMask,
    FullMask,
    MobileMask,
    NameMask,
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


def test_issue_examples() -> None:
    assert mask_card("6222021234561234") == "622202******1234"
    assert mask_cn_id("11010519491231002X") == "110105********002X"
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"


def test_input_forms() -> None:
    assert mask_card("6222 0212 3456 1234") == "622202******1234"
    assert mask_cn_id("11010519491231002x") == "110105********002X"
    assert mask_mobile("+86 138-1234-5678") == "138****5678"
    assert mask_account("6222 0212 3456 7890 128") == "***************0128"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三丰", "张**"),
        ("司马光", "司马*"),
        ("诸葛亮", "诸葛*"),
        ("上官婉儿", "上官**"),
        ("爱新觉罗溥仪", "爱新觉罗**"),
        ("欧阳", "欧*"),  # a compound surname alone: only the first character kept
        ("张", "*"),
        ("John Smith", "J*********"),
        ("", ""),
    ],
)
def test_names(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_compound_surname_list_is_the_common_one() -> None:
    for s in ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "慕容", "令狐", "夏侯"):
        assert s in COMPOUND_SURNAMES
    assert "张" not in COMPOUND_SURNAMES


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("广东省深圳市南山区科技园路1号", "广东省深圳市*********"),
        ("北京市朝阳区建国路88号", "北京市*********"),
        ("内蒙古自治区呼和浩特市新城区", "内蒙古自治区呼和浩特市***"),
        ("湖北省恩施土家族苗族自治州恩施市", "湖北省恩施土家族苗族自治州***"),
        ("广东深圳市南山区", "广东深圳市***"),
        ("深圳市南山区", "深圳市***"),
        ("某地某处", "****"),  # not recognized: everything masked
    ],
)
def test_addresses(address: str, masked: str) -> None:
    assert mask_address(address) == masked


def test_address_rules() -> None:
    assert mask_address("广东省深圳市南山区", rule=AddressMask(keep="province")) == "广东省******"
    assert mask_address("广东省深圳市南山区", rule=AddressMask(width=4)) == "广东省深圳市****"


def test_email() -> None:
    assert mask_email("zhangsan@example.com") == "z***@example.com"
    assert mask_email("zhangsan@example.com", rule=EmailMask(keep_prefix=3)) == "zha***@example.com"
    assert mask_email("z@example.com") == "***@example.com"
    assert mask_email("zhangsan@example.com", rule=EmailMask(keep_domain=False)) == "z***"
    assert mask_email("not an address") == "***"


def test_rules_configurable() -> None:
    assert mask_card("6222021234561234", rule=CardMask(keep_prefix=0)) == "************1234"
    assert mask_card("6222021234561234", rule=CardMask(char="#")) == "622202######1234"
    assert mask_cn_id("11010519491231002X", rule=CnIdMask(keep_prefix=0, keep_suffix=1)) == (
        "*" * 17 + "X"
    )
    assert mask_mobile("13812345678", rule=MobileMask(keep_suffix=0)) == "138********"
    assert mask_name("张三丰", rule=NameMask(width=1)) == "张*"
    assert mask_name("欧阳娜娜", rule=NameMask(keep_surname=False)) == "欧***"
    assert mask_full("1234.56", rule=FullMask(width=6)) == "******"


def test_short_values_masked_entirely() -> None:
    assert mask_card("62220212") == "********"
    assert mask_mobile("1381234") == "*******"


def test_mask_dispatch() -> None:
    assert mask("card_no", "6222021234561234") == "622202******1234"
    assert mask("cn_id", "11010519491231002X") == "110105********002X"
    assert mask("name", "欧阳娜娜") == "欧阳**"
    assert mask("balance", "1234.56") == "****"
    assert mask("mobile", "13812345678", policy=MobileMask(keep_prefix=0)) == "*******5678"


def test_bad_arguments() -> None:
    with pytest.raises(VaultkitTypeError):
        CardMask(keep_prefix=-1)
    with pytest.raises(VaultkitTypeError):
        CardMask(char="**")
    with pytest.raises(VaultkitTypeError):
        AddressMask(keep="district")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        mask_card(6222021234561234)  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        mask("card_no", "6222021234561234", policy="CardMask")  # type: ignore[arg-type]


def test_rules_are_frozen_and_hashable() -> None:
    rule = CardMask()
    with pytest.raises(AttributeError):
        rule.keep_prefix = 0  # type: ignore[misc]
    assert hash(rule) == hash(CardMask())


@given(
    st.text(alphabet="0123456789", min_size=0, max_size=30),
    st.integers(0, 8),
    st.integers(0, 8),
)
def test_ends_mask_never_shows_more(digits: str, prefix: int, suffix: int) -> None:
    rule = AccountMask(keep_prefix=prefix, keep_suffix=suffix)
    out = mask_account(digits, rule=rule)
    assert len(out) == len(digits)
    shown = [i for i, c in enumerate(out) if c != "*"]
    assert len(shown) <= prefix + suffix
    assert all(out[i] == digits[i] for i in shown)
    assert out.count("*") >= min(len(digits), 4)


@pytest.mark.parametrize("kind, suggestion", [("phone", "mobile"), ("cardno", "card_no")])
def test_unknown_kind_is_an_error_naming_the_closest(kind: str, suggestion: str) -> None:
    """It used to mask fully ('****'), so a typo went unnoticed."""
    with pytest.raises(UnknownKindError) as err:
        mask(kind, "13812345678")
    assert suggestion in err.value.suggestions and "card_no" in err.value.choices
    assert "13812345678" not in str(err.value)
    with pytest.raises(UnknownKindError):
        default_rule(kind)
    with pytest.raises(UnknownKindError):
        mask(kind, "13812345678", policy=FullMask())
