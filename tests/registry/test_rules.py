"""The rule tables: picked by region and date, and the decisions they drive."""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import date

import pytest

from services.registry.rules import (
    banquet_filing,
    expiry_notice,
    health_certificate,
    investigation,
    risk_level,
)

ON = date(2026, 3, 2)


def test_the_newest_rule_of_the_region_in_force_wins_else_the_default():
    default = banquet_filing.RULE_TABLE[0]
    zhejiang_old = replace(default, region="zj", effective_from=date(2020, 1, 1), filing_min_people=40)
    zhejiang_new = replace(default, region="zj", effective_from=date(2026, 7, 1), filing_min_people=30)
    table = (default, zhejiang_old, zhejiang_new)
    assert banquet_filing.rule_for("zj", date(2026, 6, 30), table) is zhejiang_old
    assert banquet_filing.rule_for("zj", date(2026, 7, 1), table) is zhejiang_new
    assert banquet_filing.rule_for("sc", date(2026, 7, 1), table) is default
    with pytest.raises(LookupError):
        banquet_filing.rule_for("zj", date(2000, 1, 1), table)


@pytest.mark.parametrize(
    ("kind", "current", "outcome", "action", "grades", "expected"),
    [
        ("catering", "B", "compliant", "pass", ["good"], "B"),
        ("catering", "B", "compliant", "pass", ["fair"], "C"),
        ("catering", "B", "non_compliant", "written_rectification", [None], "C"),
        ("catering", "D", "non_compliant", "stop_operating", [None], "D"),  # no level above D
        ("catering", "C", "compliant", "pass", ["excellent", "excellent", "excellent"], "B"),
        ("catering", "C", "compliant", "pass", ["excellent", "excellent", "good"], "C"),
        ("grocery", "A", "compliant", "pass", ["excellent"] * 3, "A"),  # no level below A
        ("school_canteen", "D", "compliant", "pass", ["excellent"] * 3, "D"),  # floor at its start
    ],
)
def test_risk_level_after_an_inspection(kind, current, outcome, action, grades, expected):
    assert (
        risk_level.adjusted_risk_level(
            kind=kind,
            current=current,
            outcome=outcome,
            action=action,
            recent_grades=grades,
            rule=risk_level.rule_for("default", ON),
        )
        == expected
    )


def test_levels_iii_and_worse_suspend():
    rule = investigation.rule_for("default", ON)
    levels = ("I", "II", "III", "IV", "below_IV")
    assert [level for level in levels if investigation.suspends(level, rule)] == ["I", "II", "III"]


@pytest.mark.parametrize(
    ("issued", "expires"),
    [(date(2025, 6, 1), date(2026, 6, 1)), (date(2024, 2, 29), date(2025, 2, 28))],
)
def test_a_health_certificate_lasts_one_year(issued, expires):
    assert health_certificate.latest_expiry(issued, health_certificate.rule_for("default", issued)) == expires


def test_a_province_with_its_own_banquet_threshold():
    rule = replace(banquet_filing.RULE_TABLE[0], region="zj", filing_min_people=30, filing_min_tables=3)
    verdict = banquet_filing.assess(
        people=35,
        tables=3,
        occasion="birthday",
        held_on=date(2026, 3, 5),
        filed_on=date(2026, 3, 2),
        rule=rule,
    )
    assert verdict == banquet_filing.Assessment(filing_required=True, late=False, guidance_due=False)


@pytest.mark.parametrize(
    "rules", [banquet_filing, expiry_notice, health_certificate, investigation, risk_level]
)
def test_every_rule_lookup_is_told_the_day_and_the_region(rules):
    """No lookup falls back to the system's date: the caller passes its clock's day or the event's."""
    parameters = inspect.signature(rules.rule_for).parameters
    assert parameters["region"].default is inspect.Parameter.empty
    assert parameters["on"].default is inspect.Parameter.empty
