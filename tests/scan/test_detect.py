"""Detector properties: identifiers are found inside free text, reported masked, and random
digits are not taken for ID numbers."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from vaultkit.cli import _fakedata
from vaultkit.reencrypt import Classifier
from vaultkit.scan import ColumnReport
from vaultkit.scan._scan import _inspect_value

PEOPLE = _fakedata.customers(200, seed=13)
FILLER = st.text(alphabet="客户来电备注 ,;:()abcXYZ", max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    i=st.integers(0, len(PEOPLE) - 1),
    before=FILLER,
    after=FILLER,
    field=st.sampled_from(["id_no", "card_no", "mobile", "email"]),
)
def test_found_in_free_text_and_masked(i: int, before: str, after: str, field: str) -> None:
    value = getattr(PEOPLE[i], field)
    report = ColumnReport("t", "remark")
    _inspect_value(report, f"{before} {value} {after}", None, Classifier())
    kind = {"id_no": "cn_id", "card_no": "card_no", "mobile": "mobile", "email": "email"}[field]
    assert kind in report.findings
    assert all(value not in e for f in report.findings.values() for e in f.examples)


def test_random_18_digit_numbers_rarely_pass_as_id_numbers() -> None:
    rng = random.Random(3)
    report = ColumnReport("t", "n")
    classify = Classifier()
    for _ in range(3000):
        _inspect_value(report, "".join(str(rng.randrange(10)) for _ in range(18)), None, classify)
    hits = report.findings["cn_id"].count if "cn_id" in report.findings else 0
    assert hits < 30  # a real date and the MOD 11-2 check character: ~0.2% pass
