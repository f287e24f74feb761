"""The dynamic grade of the quantified grading (餐饮服务食品安全量化分级): 优秀 excellent (big smile),
良好 good (smile), 一般 fair (flat face), from the score bands, and never better than the outcome
allows (a basically compliant visit is at best good; a non-compliant one is fair). Fair is the lowest
face, so a score under its band is still fair: the outcome and the action carry the rest. A visit
where no item applied assessed nothing and gives no grade."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from services.inspection.rules.outcome import Outcome, Tally
from shared.rules import rule_in_force

DynamicGrade = Literal["excellent", "good", "fair"]
ORDER: tuple[DynamicGrade, ...] = ("excellent", "good", "fair")  # best first


@dataclass(frozen=True)
class DynamicGradeRule:
    region: str
    effective_from: date
    # (lowest score of the band, grade), highest band first; below the last band: the last grade
    bands: tuple[tuple[float, DynamicGrade], ...] = ((90.0, "excellent"), (75.0, "good"), (60.0, "fair"))
    best_for_outcome: dict[str, DynamicGrade] = field(
        default_factory=lambda: {
            "compliant": "excellent",
            "basically_compliant": "good",
            "non_compliant": "fair",
        }
    )
    grade_when_nothing_applies: bool = False


RULE_TABLE: tuple[DynamicGradeRule, ...] = (
    DynamicGradeRule(region="default", effective_from=date(2012, 1, 1)),
)


def rule_for(region: str, on: date, table: Sequence[DynamicGradeRule] = RULE_TABLE) -> DynamicGradeRule:
    return rule_in_force(table, region=region, on=on, what="dynamic grade")


def band_of(score: float, rule: DynamicGradeRule) -> DynamicGrade:
    for lowest, grade in rule.bands:
        if score >= lowest:
            return grade
    return rule.bands[-1][1]


def grade_of(*, score: float, outcome: Outcome, tally: Tally, rule: DynamicGradeRule) -> DynamicGrade | None:
    if tally.applicable == 0 and not rule.grade_when_nothing_applies:
        return None
    by_score = band_of(score, rule)
    cap = rule.best_for_outcome[outcome]
    return max(by_score, cap, key=ORDER.index)  # the worse of the two
