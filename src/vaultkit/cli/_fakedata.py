"""Synthetic customers for the demo, tests and benchmarks: valid-format, entirely fake.

Deterministic given ``seed``: the same seed gives the same records on every machine and Python
version (only :class:`random.Random` integer draws are used). Every identifier is structurally
valid (GB 11643 and GB 32100 check characters, Luhn digits) but belongs to no one: names are
random combinations, sequences and account digits are random.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from vaultkit.identifiers import (
    USCC_ALPHABET,
    cn_id_check_char,
    luhn_check_digit,
    org_code_check_char,
    uscc_check_char,
)

__all__ = ["FakeCustomer", "FakeMerchant", "customers", "merchants"]

# Frequent single surnames and a few compound ones (so masking of 欧阳** is exercised).
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢"
    "宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
_COMPOUND = ("欧阳", "司马", "诸葛", "上官", "东方")
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平"
    "刚桂华玉萍红娥玲芬燕彬鹏辉建国志文晨宇浩然子涵思雨欣怡梓轩"
)
# GB/T 2260 county-level codes (real codes; the numbers built on them are not real people's).
_AREAS = (
    "110105",
    "110108",
    "310104",
    "310115",
    "440305",
    "440106",
    "330106",
    "320102",
    "510107",
    "420106",
    "610113",
    "370202",
    "350203",
    "210102",
    "500103",
    "120101",
)
# UnionPay BINs (62xxxx) of large issuers.
_BINS = ("622202", "622848", "621700", "622588", "621661", "622262", "622609", "623668")
_MOBILE = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "199",
)
_MAIL = ("qq.com", "163.com", "126.com", "sina.com", "example.cn")
_CITIES = (
    "北京市朝阳区",
    "上海市徐汇区",
    "广东省深圳市南山区",
    "浙江省杭州市西湖区",
    "四川省成都市武侯区",
    "湖北省武汉市江汉区",
    "江苏省南京市玄武区",
)


@dataclass(frozen=True)
class FakeCustomer:
    name: str
    id_no: str
    card_no: str
    mobile: str
    email: str
    address: str
    balance: Decimal


@dataclass(frozen=True)
class FakeMerchant:
    name: str
    uscc: str
    contact_mobile: str


def _luhn_complete(body: str) -> str:
    return body + luhn_check_digit(body)


def _id_complete(body: str) -> str:
    return body + cn_id_check_char(body)


def _uscc_complete(body: str) -> str:
    return body + uscc_check_char(body)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _name(rng: random.Random) -> str:
    if rng.randrange(20) == 0:
        surname = _COMPOUND[rng.randrange(len(_COMPOUND))]
    else:
        surname = _SURNAMES[rng.randrange(len(_SURNAMES))]
    given = "".join(_GIVEN[rng.randrange(len(_GIVEN))] for _ in range(1 + rng.randrange(2)))
    return surname + given


def _id_no(rng: random.Random) -> str:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(20_000))
    body = _AREAS[rng.randrange(len(_AREAS))] + born.strftime("%Y%m%d") + _digits(rng, 3)
    return _id_complete(body)


def _card_no(rng: random.Random) -> str:
    length = 19 if rng.randrange(4) == 0 else 16
    return _luhn_complete(_BINS[rng.randrange(len(_BINS))] + _digits(rng, length - 7))


def _mobile(rng: random.Random) -> str:
    return _MOBILE[rng.randrange(len(_MOBILE))] + _digits(rng, 8)


def customers(n: int, *, seed: int = 0) -> list[FakeCustomer]:
    """``n`` synthetic customers; the same ``seed`` always gives the same list."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        mobile = _mobile(rng)
        out.append(
            FakeCustomer(
                name=_name(rng),
                id_no=_id_no(rng),
                card_no=_card_no(rng),
                mobile=mobile,
                email=f"user{i}.{_digits(rng, 4)}@{_MAIL[rng.randrange(len(_MAIL))]}",
                address=_CITIES[rng.randrange(len(_CITIES))] + f"{1 + rng.randrange(300)}号",
                balance=Decimal(rng.randrange(0, 100_000_000)).scaleb(-2),
            )
        )
    return out


def merchants(n: int, *, seed: int = 0) -> list[FakeMerchant]:
    """``n`` synthetic merchants with GB 32100 codes; deterministic given ``seed``."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        # GB 32100-2015 4.1: registration authority 9 (industry and commerce), type 1 (enterprise),
        # 6-digit area code, 9-character organization code, check character.
        first8 = "".join(USCC_ALPHABET[rng.randrange(31)] for _ in range(8))
        org = first8 + org_code_check_char(first8)  # GB 11714 check character
        body = "91" + _AREAS[rng.randrange(len(_AREAS))] + org
        out.append(
            FakeMerchant(
                name=f"示例商户{i:04d}有限公司",
                uscc=_uscc_complete(body),
                contact_mobile=_mobile(rng),
            )
        )
    return out
