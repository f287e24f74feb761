"""Inspections due per year by risk level (食品生产经营风险分级管理): A >= 1, B 1-2, C 2-3, D 3-4;
the plan takes the upper bound."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from shared.rules import rule_in_force


@dataclass(frozen=True)
class InspectionFrequencyRule:
    region: str
    effective_from: date
    per_year: dict[str, int] = field(default_factory=lambda: {"A": 1, "B": 2, "C": 3, "D": 4})


RULE_TABLE: tuple[InspectionFrequencyRule, ...] = (
    InspectionFrequencyRule(region="default", effective_from=date(2016, 9, 5)),
)


def rule_for(
    region: str, on: date, table: Sequence[InspectionFrequencyRule] = RULE_TABLE
) -> InspectionFrequencyRule:
    return rule_in_force(table, region=region, on=on, what="inspection frequency")


def due_per_year(risk_level: str, rule: InspectionFrequencyRule) -> int:
    return rule.per_year[risk_level]
