"""Every identifier entry of tests/vectors/standard_vectors.json (GB 11643, GB 32100, Luhn,
mobile)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vaultkit.errors import InputFormatError
from vaultkit.identifiers import (
    cn_id_check_char,
    is_card,
    is_cn_id,
    is_mobile,
    is_uscc,
    luhn_valid,
    normalize_cn_id,
    normalize_mobile,
    normalize_uscc,
    org_code_check_char,
    uscc_check_char,
)

_DATA = json.loads(
    (Path(__file__).parents[1] / "vectors" / "standard_vectors.json").read_text("utf-8")
)


def _cases(name: str, field: str) -> list[dict[str, str]]:
    cases = [e for e in _DATA[name] if field in e]
    assert cases, f"no {name} vectors"
    return cases


def _weights(name: str) -> list[int]:
    return [int(w) for w in _DATA[name][0]["weights"].split(",")]


@pytest.mark.parametrize("case", _cases("cn_resident_id_gb11643", "id"), ids=lambda c: c["id"])
def test_gb11643(case: dict[str, str]) -> None:
    assert cn_id_check_char(case["id"][:17]) == case["expected_check"]
    assert is_cn_id(case["id"]) is (case["valid"] == "True")
    if case["valid"] != "True":
        with pytest.raises(InputFormatError, match="bad check character"):
            normalize_cn_id(case["id"])


def test_gb11643_weights_match_the_standard() -> None:
    assert _weights("cn_resident_id_gb11643") == [pow(2, 17 - i, 11) for i in range(17)]


@pytest.mark.parametrize("case", _cases("cn_uscc_gb32100", "uscc"), ids=lambda c: c["uscc"])
def test_gb32100(case: dict[str, str]) -> None:
    assert uscc_check_char(case["uscc"][:17]) == case["expected_check"]
    assert is_uscc(case["uscc"]) is (case["valid"] == "True")
    if case["valid"] == "True":
        # the organisation code inside (characters 9-17) passes GB 11714
        assert org_code_check_char(case["uscc"][8:16]) == case["uscc"][16]
        assert normalize_uscc(case["uscc"], check_org_code=True) == case["uscc"]
    else:
        with pytest.raises(InputFormatError, match="bad check character"):
            normalize_uscc(case["uscc"])


def test_gb32100_weights_and_alphabet_match_the_standard() -> None:
    from vaultkit.identifiers import USCC_ALPHABET

    assert _weights("cn_uscc_gb32100") == [pow(3, i, 31) for i in range(17)]
    assert USCC_ALPHABET == _DATA["cn_uscc_gb32100"][0]["charset"].split(" ")[0]


@pytest.mark.parametrize("case", _cases("luhn", "number"), ids=lambda c: c["number"])
def test_luhn(case: dict[str, str]) -> None:
    valid = case["luhn_valid"] == "True"
    assert len(case["number"]) == int(case["length"])
    assert luhn_valid(case["number"]) is valid
    if 12 <= len(case["number"]) <= 19:
        assert is_card(case["number"]) is valid


def test_mobile() -> None:
    (entry,) = _DATA["cn_mobile"]
    for number in entry["examples_valid"].split(","):
        assert is_mobile(number)
        assert normalize_mobile(number) == number
    for number in entry["examples_invalid"].split(","):
        assert not is_mobile(number)
