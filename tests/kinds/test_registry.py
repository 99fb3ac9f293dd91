"""The kind registry (vaultkit.kinds) is the one place a kind is described: every package reads
its validator, normalizer, token format, mask rule, level and scan detector from there, under one
vocabulary (canonical names and the documented alias ``card``)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vaultkit import kinds
from vaultkit.blindindex import KINDS as INDEX_KINDS
from vaultkit.errors import UnknownKindError, UnsupportedAlgorithmError
from vaultkit.masking import default_rule, mask
from vaultkit.policy import Kind, Level, Policy, Protection
from vaultkit.scan import DETECTORS
from vaultkit.tokens import FORMATS
from vaultkit.tokens._tokenizer import resolve_format

CARD = "6222021234567890128"


def test_policy_kinds_are_the_registry() -> None:
    assert {k.value for k in Kind} == set(kinds.KINDS)


def test_registry_is_immutable() -> None:
    with pytest.raises(TypeError):
        kinds.KINDS["phone"] = kinds.KINDS["mobile"]  # type: ignore[index]
    with pytest.raises(TypeError):
        kinds.ALIASES["phone"] = "mobile"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        kinds.KINDS["mobile"].level = "C3"  # type: ignore[misc]


@pytest.mark.parametrize("name", sorted(kinds.KINDS))
def test_every_package_reads_the_entry(name: str) -> None:
    spec = kinds.KINDS[name]
    assert default_rule(name) is spec.mask_rule
    assert Kind(name).default_level is Level[spec.level]
    assert Kind(name).category is Kind(spec.category)
    policy = Policy(Kind(name))
    assert policy.token_format == spec.token_format
    if spec.token_format is not None:
        assert resolve_format(name) is FORMATS[spec.token_format]
        if policy.level is Level.C2:
            assert policy.allows(Protection.TOKEN)
    if spec.normalize is not None:
        assert INDEX_KINDS[name] is spec.normalize
        assert policy.index_kind == name
    else:
        assert name not in INDEX_KINDS and policy.index_kind == "text"


def test_scan_detectors_are_the_registry_entries_in_order() -> None:
    expected = [k for k in kinds.KINDS.values() if k.scan is not None]
    assert [d.kind for d in DETECTORS] == [k.name for k in expected]
    assert [d.level for d in DETECTORS] == [k.level for k in expected]
    assert [d.pattern for d in DETECTORS] == [k.scan.pattern for k in expected if k.scan]
    assert [d.kind for d in DETECTORS][:2] == ["cn_id", "card_no"]  # longer identifiers first


def test_token_formats_are_kinds_or_generic() -> None:
    named = {k.token_format for k in kinds.KINDS.values()} - {None}
    assert named <= set(FORMATS)
    assert set(FORMATS) == named | set(kinds.GENERIC_FORMATS)


def test_the_alias_is_the_same_kind_everywhere() -> None:
    assert kinds.ALIASES == {"card": "card_no"}
    assert kinds.lookup("card") is kinds.KINDS["card_no"]
    assert Kind("card") is Kind.CARD_NO
    assert mask("card", CARD) == mask("card_no", CARD) == "622202*********0128"
    assert resolve_format("card") is resolve_format("card_no") is FORMATS["card_no"]
    assert kinds.token_format("card") == kinds.token_format("card_no") == "card_no"
    assert kinds.index_kind("card") == "card_no"
    assert kinds.token_format("account_no") == "digits"
    assert kinds.lookup(Kind.MOBILE).name == "mobile"


@pytest.mark.parametrize(
    "call, typo, suggestion",
    [
        (kinds.lookup, "phone", "mobile"),
        (kinds.lookup, "id_no", "cn_id"),
        (kinds.lookup, "emial", "email"),
        (kinds.token_format, "cardd", "card"),
        (kinds.token_format, "digit", "digits"),
        (kinds.index_kind, "mobil", "mobile"),
    ],
)
def test_unknown_names_suggest_the_closest(call, typo: str, suggestion: str) -> None:
    with pytest.raises(UnknownKindError) as err:
        call(typo)
    assert isinstance(err.value, UnsupportedAlgorithmError)  # what callers caught before
    assert suggestion in err.value.suggestions
    assert f"did you mean {suggestion!r}" in str(err.value)
    assert "card_no" in err.value.choices or "digits" in err.value.choices


def test_token_format_of_a_kind_without_one_is_unknown() -> None:
    with pytest.raises(UnknownKindError, match="unknown token format 'name'"):
        kinds.token_format("name")
    with pytest.raises(UnknownKindError, match="unknown index kind 'address'"):
        kinds.index_kind("address")


def test_a_value_passed_as_a_kind_is_shown_masked() -> None:
    with pytest.raises(UnknownKindError) as err:
        kinds.lookup(CARD)
    assert CARD not in str(err.value)
    with pytest.raises(UnknownKindError) as err:
        mask("张三丰", "x")
    assert "张三丰" not in str(err.value)


@pytest.mark.parametrize(
    "module",
    [
        "vaultkit.kinds",
        "vaultkit.masking",
        "vaultkit.masking._rules",
        "vaultkit.policy",
        "vaultkit.tokens",
        "vaultkit.blindindex",
        "vaultkit.scan",
    ],
)
def test_any_import_order_works(module: str) -> None:
    """The registry and masking read each other (rules / lookups): each may be imported first."""
    code = f"import {module}; from vaultkit.masking import mask; print(mask('card', {CARD!r}))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout == "622202*********0128\n"


def test_docs_page_runs_as_written() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "kinds.md"
    (block,) = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    exec(compile(block, "docs/kinds.md", "exec"), {})


def test_docs_page_lists_every_kind() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "kinds.md").read_text(encoding="utf-8")
    for name in kinds.KINDS:
        assert f"`{name}`" in page, name


@pytest.mark.parametrize("value", ["zhangsan", "hunter2", "Jk5Lp0Nq-Vd3Sa7Ue4", "13812345678"])
def test_a_name_far_from_every_kind_is_shown_masked(value: str) -> None:
    """mask(value, kind) with the arguments swapped must not put the value in the error."""
    with pytest.raises(UnknownKindError) as err:
        mask(value, "name")
    assert value not in str(err.value)
