"""Incident severity against the rule table in docs/domain.md, boundaries included."""

from datetime import date

import pytest

from services.alerts.rules.severity import RULE_TABLE, SeverityRule, classify, rule_for


@pytest.mark.parametrize(
    ("ill", "deaths", "place_kind", "crosses_province", "expected"),
    [
        (0, 0, "restaurant", False, "below_IV"),
        (29, 0, "restaurant", False, "below_IV"),
        (30, 0, "restaurant", False, "IV"),
        (99, 0, "banquet", False, "IV"),
        (100, 0, "banquet", False, "III"),
        (1, 1, "banquet", False, "III"),  # any death is at least III
        (29, 1, "market", False, "III"),
        (99, 1, "banquet", False, "III"),
        (100, 1, "banquet", False, "II"),  # >= 100 ill with a death
        (9, 9, "other", False, "III"),
        (10, 10, "other", False, "II"),  # >= 10 deaths
        (49, 0, "school", False, "IV"),
        (50, 0, "school", False, "II"),  # a school poisoning with >= 50 ill
        (50, 0, "kindergarten", False, "II"),
        (50, 0, "canteen", False, "IV"),  # a canteen is not a school by place kind
        (29, 0, "school", False, "below_IV"),
        (3, 0, "restaurant", True, "I"),  # crosses provinces
    ],
)
def test_classification_follows_the_rule_table(ill, deaths, place_kind, crosses_province, expected):
    rule = rule_for("qingyun", date(2026, 3, 2))
    assert (
        classify(ill=ill, deaths=deaths, place_kind=place_kind, crosses_province=crosses_province, rule=rule)
        == expected
    )


def test_a_province_rule_replaces_the_default_from_its_effective_date():
    stricter = SeverityRule(region="yunnan", effective_from=date(2026, 7, 1), level_iv_min_ill=20)
    table = (*RULE_TABLE, stricter)
    before = rule_for("yunnan", date(2026, 6, 30), table)
    after = rule_for("yunnan", date(2026, 7, 1), table)
    assert before.region == "default"
    assert after is stricter
    assert classify(ill=25, deaths=0, place_kind="banquet", rule=before) == "below_IV"
    assert classify(ill=25, deaths=0, place_kind="banquet", rule=after) == "IV"


def test_no_rule_in_force_is_an_error_not_a_guess():
    with pytest.raises(LookupError):
        rule_for("default", date(2000, 1, 1))
