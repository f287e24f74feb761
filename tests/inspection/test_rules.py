"""The rule tables against docs/domain.md, table-driven, edge cases included. Pure functions: fast."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from fractions import Fraction

import pytest

from services.inspection.checklists import templates
from services.inspection.inspections.verdict import ItemResult, judge
from services.inspection.plans.service import period_ends, plan_state
from services.inspection.rules import (
    dynamic_grade,
    grade_blackout,
    inspection_frequency,
    outcome,
    rectification_deadline,
)
from services.inspection.rules.outcome import Tally

DAY = date(2026, 3, 2)


def items(
    key_pass: int = 0, key_fail: int = 0, gen_pass: int = 0, gen_fail: int = 0, na: int = 0
) -> list[ItemResult]:
    made: list[ItemResult] = []
    for count, key, result in (
        (key_pass, True, "pass"),
        (key_fail, True, "fail"),
        (gen_pass, False, "pass"),
        (gen_fail, False, "fail"),
        (na, False, "not_applicable"),
    ):
        made += [ItemResult(code=f"{len(made) + n}", key=key, result=result) for n in range(count)]  # type: ignore[arg-type]
    return made


# (name, counts, outcome, action, score, grade)
VERDICTS = [
    ("everything passes", dict(key_pass=5, gen_pass=10), "compliant", "pass", 100.0, "excellent"),
    (
        "exactly one key item failed",
        dict(key_pass=4, key_fail=1, gen_pass=10),
        "basically_compliant",
        "written_rectification",
        88.0,
        "good",
    ),
    (
        "two key items failed",
        dict(key_pass=3, key_fail=2, gen_pass=10),
        "non_compliant",
        "stop_operating",
        76.0,
        "fair",
    ),
    (
        "general pass rate exactly 70%",
        dict(key_pass=5, gen_pass=7, gen_fail=3),
        "basically_compliant",
        "written_rectification",
        88.0,
        "good",
    ),
    (
        "general pass rate just under 70% (9/13)",
        dict(key_pass=5, gen_pass=9, gen_fail=4),
        "non_compliant",
        "stop_operating",
        85.7,
        "fair",
    ),
    (
        "one key failed and general exactly 70%",
        dict(key_pass=4, key_fail=1, gen_pass=7, gen_fail=3),
        "basically_compliant",
        "written_rectification",
        76.0,
        "good",
    ),
    (
        "one key failed and general under 70%",
        dict(key_pass=4, key_fail=1, gen_pass=6, gen_fail=4),
        "non_compliant",
        "stop_operating",
        72.0,
        "fair",
    ),
    (
        "one general failed, nothing else",
        dict(key_pass=5, gen_pass=9, gen_fail=1),
        "basically_compliant",
        "written_rectification",
        96.0,
        "good",
    ),
    ("all items not applicable", dict(na=12), "compliant", "pass", 100.0, None),
    (
        "no general item applies, one key failed",
        dict(key_pass=2, key_fail=1, na=8),
        "basically_compliant",
        "written_rectification",
        66.7,
        "fair",
    ),
    (
        "not applicable items count for neither side",
        dict(key_pass=5, gen_pass=7, gen_fail=3, na=6),
        "basically_compliant",
        "written_rectification",
        88.0,
        "good",
    ),
    (
        "every applicable item failed",
        dict(key_fail=3, gen_fail=4),
        "non_compliant",
        "stop_operating",
        0.0,
        "fair",
    ),
]


@pytest.mark.parametrize(
    ("name", "counts", "expected", "action", "score", "grade"), VERDICTS, ids=[v[0] for v in VERDICTS]
)
def test_verdict(name: str, counts: dict, expected: str, action: str, score: float, grade: str | None):
    verdict = judge(items(**counts), region="qingyun", on=DAY)
    assert (verdict.outcome, verdict.action, verdict.score, verdict.dynamic_grade) == (
        expected,
        action,
        score,
        grade,
    )
    assert len(verdict.failed_items) == counts.get("key_fail", 0) + counts.get("gen_fail", 0)


def test_all_not_applicable_withholds_the_grade_and_says_why():
    verdict = judge(items(na=12), region="qingyun", on=DAY)
    assert verdict.grade_withheld == "nothing_applicable"
    assert verdict.tally.applicable == 0 and verdict.tally.general_pass_rate == 1


def test_general_pass_rate_is_exact_not_floating_point():
    tally = Tally.of([(False, "pass")] * 7 + [(False, "fail")] * 3)
    assert tally.general_pass_rate == Fraction(7, 10)
    rule = outcome.rule_for("default", DAY)
    assert outcome.outcome_of(tally, rule) == "basically_compliant"
    stricter = replace(rule, min_general_pass_rate=Fraction(71, 100))
    assert outcome.outcome_of(tally, stricter) == "non_compliant"


def test_a_county_row_takes_effect_on_its_date_and_not_before():
    local = outcome.OutcomeRule(region="qingyun", effective_from=date(2026, 7, 1), max_key_failed=0)
    table = (*outcome.RULE_TABLE, local)
    one_key = Tally.of([(True, "fail"), (True, "pass"), (False, "pass")])
    before = outcome.rule_for("qingyun", date(2026, 6, 30), table)
    after = outcome.rule_for("qingyun", date(2026, 7, 1), table)
    assert outcome.outcome_of(one_key, before) == "basically_compliant"
    assert outcome.outcome_of(one_key, after) == "non_compliant"
    assert outcome.rule_for("another", date(2026, 7, 1), table).max_key_failed == 1
    with pytest.raises(LookupError):
        outcome.rule_for("qingyun", date(2000, 1, 1), table)


GRADES = [
    (100.0, "compliant", "excellent"),
    (90.0, "compliant", "excellent"),
    (89.9, "compliant", "good"),
    (75.0, "compliant", "good"),
    (74.9, "compliant", "fair"),
    (60.0, "compliant", "fair"),
    (59.9, "non_compliant", "fair"),  # fair is the lowest face
    (96.0, "basically_compliant", "good"),  # capped by the outcome
    (95.0, "non_compliant", "fair"),
    (70.0, "basically_compliant", "fair"),  # the score band is the worse
]


@pytest.mark.parametrize(("score", "found", "grade"), GRADES)
def test_dynamic_grade_bands_and_caps(score: float, found: str, grade: str):
    tally = Tally.of([(True, "pass")])
    rule = dynamic_grade.rule_for("qingyun", DAY)
    assert dynamic_grade.grade_of(score=score, outcome=found, tally=tally, rule=rule) == grade  # type: ignore[arg-type]


BLACKOUTS = [
    # (on, licensed_on, last_incident_on, reason)
    (date(2026, 6, 9), date(2026, 3, 10), None, "new_licence"),
    (date(2026, 6, 10), date(2026, 3, 10), None, None),  # three months have run
    (date(2026, 3, 9), date(2026, 3, 10), None, None),  # an inspection before the permit
    (date(2026, 7, 30), None, date(2026, 1, 31), "incident"),
    (date(2026, 7, 31), None, date(2026, 1, 31), None),
    (date(2026, 4, 1), date(2026, 3, 10), date(2026, 2, 1), "incident"),  # both: the incident is named
    (date(2026, 4, 1), None, None, None),
]


@pytest.mark.parametrize(("on", "licensed_on", "incident_on", "reason"), BLACKOUTS)
def test_grade_blackouts(on: date, licensed_on: date | None, incident_on: date | None, reason: str | None):
    rule = grade_blackout.rule_for("qingyun", on)
    assert (
        grade_blackout.blackout(on=on, licensed_on=licensed_on, last_incident_on=incident_on, rule=rule)
        == reason
    )


def test_a_blackout_withholds_only_the_grade():
    verdict = judge(items(key_pass=5, gen_pass=10), region="qingyun", on=DAY, licensed_on=date(2026, 2, 1))
    assert (verdict.outcome, verdict.action, verdict.score) == ("compliant", "pass", 100.0)
    assert verdict.dynamic_grade is None and verdict.grade_withheld == "new_licence"


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2026, 3, 2), -12, date(2025, 3, 2)),
    ],
)
def test_adding_months_clips_to_the_end_of_the_month(day: date, months: int, expected: date):
    assert grade_blackout.add_months(day, months) == expected


def test_rectification_deadlines_by_severity_and_the_escalation_threshold():
    rule = rectification_deadline.rule_for("qingyun", DAY)
    assert rectification_deadline.deadline(ordered_on=DAY, severity="key", rule=rule) == date(2026, 3, 9)
    assert rectification_deadline.deadline(ordered_on=DAY, severity="general", rule=rule) == date(2026, 3, 17)
    assert rectification_deadline.escalation_due(deadline_on=date(2026, 3, 9), rule=rule) == date(2026, 3, 25)
    assert [rectification_deadline.escalated(s) for s in ("general", "key", "critical")] == [
        "key",
        "critical",
        "critical",
    ]


@pytest.mark.parametrize(("level", "due"), [("A", 1), ("B", 2), ("C", 3), ("D", 4)])
def test_inspections_due_per_year_by_risk_level(level: str, due: int):
    assert inspection_frequency.due_per_year(level, inspection_frequency.rule_for("qingyun", DAY)) == due


PLAN_STATES = [
    # (due per year, done, on, state, next due by)
    (1, 0, date(2026, 3, 2), "due", date(2026, 12, 31)),
    (1, 1, date(2026, 3, 2), "complete", None),
    (2, 0, date(2026, 3, 2), "due", date(2026, 7, 1)),
    (2, 1, date(2026, 3, 2), "planned", date(2026, 12, 31)),
    (4, 0, date(2026, 4, 1), "due", date(2026, 4, 1)),
    (4, 0, date(2026, 4, 2), "overdue", date(2026, 4, 1)),
    (4, 1, date(2026, 4, 2), "due", date(2026, 7, 1)),
]


@pytest.mark.parametrize(("due", "done", "on", "state", "next_due_by"), PLAN_STATES)
def test_plan_states(due: int, done: int, on: date, state: str, next_due_by: date | None):
    assert plan_state(year=2026, due=due, done=done, on=on) == (state, next_due_by)


def test_the_year_splits_into_equal_parts_ending_on_the_last_day():
    assert period_ends(2026, 4)[-1] == date(2026, 12, 31)
    assert period_ends(2028, 2) == [date(2028, 7, 1), date(2028, 12, 31)]


@pytest.mark.parametrize("kind", ["catering", "production", "sales"])
def test_each_checklist_has_key_and_general_items_in_chinese(kind: str):
    template = templates.template_for(kind, on=DAY)
    assert template is not None
    assert any(item.key for item in template.items) and any(not item.key for item in template.items)
    assert all(any("\u4e00" <= char <= "\u9fff" for char in item.text) for item in template.items)
    assert 0 < template.minimum_items <= len(template.items)


@pytest.mark.parametrize(
    ("business_kind", "checklist"),
    [
        ("catering", "catering"),
        ("school_canteen", "catering"),
        ("workshop", "production"),
        ("grocery", "sales"),
        ("something_new", "sales"),
    ],
)
def test_business_kinds_map_to_checklists(business_kind: str, checklist: str):
    assert templates.checklist_kind_for(business_kind) == checklist
