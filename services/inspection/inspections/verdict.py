"""The verdict on one inspection, from its item results and the rule tables in force on its day:
outcome, action, score, and the dynamic grade (or why none is given)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.inspection.rules import action, dynamic_grade, grade_blackout, outcome, score
from services.inspection.rules.outcome import Result, Tally

GradeWithheld = Literal["new_licence", "incident", "nothing_applicable"]


@dataclass(frozen=True)
class ItemResult:
    code: str
    key: bool
    result: Result


@dataclass(frozen=True)
class Verdict:
    tally: Tally
    outcome: outcome.Outcome
    action: action.Action
    score: float
    dynamic_grade: dynamic_grade.DynamicGrade | None
    grade_withheld: GradeWithheld | None
    failed_items: tuple[str, ...]


def judge(
    results: Sequence[ItemResult],
    *,
    region: str,
    on: date,
    licensed_on: date | None = None,
    last_incident_on: date | None = None,
) -> Verdict:
    tally = Tally.of([(item.key, item.result) for item in results])
    found = outcome.outcome_of(tally, outcome.rule_for(region, on))
    points = score.score_of(tally, score.rule_for(region, on))
    grade = dynamic_grade.grade_of(
        score=points, outcome=found, tally=tally, rule=dynamic_grade.rule_for(region, on)
    )
    withheld: GradeWithheld | None = None
    if grade is None:
        withheld = "nothing_applicable"
    else:
        withheld = grade_blackout.blackout(
            on=on,
            licensed_on=licensed_on,
            last_incident_on=last_incident_on,
            rule=grade_blackout.rule_for(region, on),
        )
        if withheld is not None:
            grade = None
    return Verdict(
        tally=tally,
        outcome=found,
        action=action.action_for(found, action.rule_for(region, on)),
        score=points,
        dynamic_grade=grade,
        grade_withheld=withheld,
        failed_items=tuple(item.code for item in results if item.result == "fail"),
    )
