"""What follows from an outcome (处理结果): pass (通过), a written order to rectify by a deadline
(书面限期整改), or an order to stop operating at once (立即停止生产经营)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from services.inspection.rules.outcome import Outcome
from shared.rules import rule_in_force

Action = Literal["pass", "written_rectification", "stop_operating"]


@dataclass(frozen=True)
class ActionRule:
    region: str
    effective_from: date
    by_outcome: dict[str, Action] = field(
        default_factory=lambda: {
            "compliant": "pass",
            "basically_compliant": "written_rectification",
            "non_compliant": "stop_operating",
        }
    )


RULE_TABLE: tuple[ActionRule, ...] = (ActionRule(region="default", effective_from=date(2022, 3, 15)),)


def rule_for(region: str, on: date, table: Sequence[ActionRule] = RULE_TABLE) -> ActionRule:
    return rule_in_force(table, region=region, on=on, what="inspection action")


def action_for(outcome: Outcome, rule: ActionRule) -> Action:
    return rule.by_outcome[outcome]
