"""Outcome of a daily inspection (日常监督检查结果): compliant, basically compliant, non-compliant.

Compliant (符合): no item failed. Basically compliant (基本符合): at most `max_key_failed` key items
failed and the pass rate of the applicable general items is at least `min_general_pass_rate`.
Anything else is non-compliant (不符合). Items marked not applicable count for neither side; with no
applicable general item the general pass rate is taken as 100% (nothing general was found wanting).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Literal

from shared.rules import rule_in_force

Outcome = Literal["compliant", "basically_compliant", "non_compliant"]
Result = Literal["pass", "fail", "not_applicable"]


@dataclass(frozen=True)
class OutcomeRule:
    region: str
    effective_from: date
    max_key_failed: int = 1
    min_general_pass_rate: Fraction = Fraction(70, 100)


RULE_TABLE: tuple[OutcomeRule, ...] = (OutcomeRule(region="default", effective_from=date(2022, 3, 15)),)


@dataclass(frozen=True)
class Tally:
    """Counts of one inspection's results by item kind."""

    key_passed: int = 0
    key_failed: int = 0
    general_passed: int = 0
    general_failed: int = 0
    not_applicable: int = 0

    @classmethod
    def of(cls, results: Sequence[tuple[bool, Result]]) -> Tally:
        """`results` are (is_key, result) pairs."""
        counts = {"key_passed": 0, "key_failed": 0, "general_passed": 0, "general_failed": 0}
        not_applicable = 0
        for is_key, result in results:
            if result == "not_applicable":
                not_applicable += 1
                continue
            counts[f"{'key' if is_key else 'general'}_{'passed' if result == 'pass' else 'failed'}"] += 1
        return cls(**counts, not_applicable=not_applicable)

    @property
    def failed(self) -> int:
        return self.key_failed + self.general_failed

    @property
    def applicable(self) -> int:
        return self.key_passed + self.key_failed + self.general_passed + self.general_failed

    @property
    def general_pass_rate(self) -> Fraction:
        checked = self.general_passed + self.general_failed
        return Fraction(self.general_passed, checked) if checked else Fraction(1)


def rule_for(region: str, on: date, table: Sequence[OutcomeRule] = RULE_TABLE) -> OutcomeRule:
    return rule_in_force(table, region=region, on=on, what="inspection outcome")


def outcome_of(tally: Tally, rule: OutcomeRule) -> Outcome:
    if tally.failed == 0:
        return "compliant"
    if tally.key_failed <= rule.max_key_failed and tally.general_pass_rate >= rule.min_general_pass_rate:
        return "basically_compliant"
    return "non_compliant"
