"""Grading coverage (量化分级管理实施率): the share of active businesses with a dynamic grade from an
inspection in the months before a day, and the target a township is held to (the seed: 100%)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from shared.rules import rule_in_force


@dataclass(frozen=True)
class GradingCoverageRule:
    region: str
    effective_from: date
    window_months: int = 12  # an annual grade is drawn from the last 12 months of inspections
    target_ratio: float = 1.0


RULE_TABLE: tuple[GradingCoverageRule, ...] = (
    GradingCoverageRule(region="default", effective_from=date(2012, 1, 1)),
)


def rule_for(region: str, on: date, table: Sequence[GradingCoverageRule] = RULE_TABLE) -> GradingCoverageRule:
    return rule_in_force(table, region=region, on=on, what="grading coverage")
