"""Rectification deadlines (限期整改) by item severity, and the second threshold after which an
order still open escalates one step (general -> key -> critical), as the US Food Code does with an
uncorrected minor item. A failed key item starts as `key`, a general item as `general`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from shared.rules import rule_in_force

Severity = Literal["general", "key", "critical"]
LADDER: tuple[Severity, ...] = ("general", "key", "critical")


@dataclass(frozen=True)
class RectificationDeadlineRule:
    region: str
    effective_from: date
    days: dict[str, int] = field(default_factory=lambda: {"general": 15, "key": 7, "critical": 3})
    escalate_days_after_deadline: int = 15


RULE_TABLE: tuple[RectificationDeadlineRule, ...] = (
    RectificationDeadlineRule(region="default", effective_from=date(2022, 3, 15)),
)


def rule_for(
    region: str, on: date, table: Sequence[RectificationDeadlineRule] = RULE_TABLE
) -> RectificationDeadlineRule:
    return rule_in_force(table, region=region, on=on, what="rectification deadline")


def deadline(*, ordered_on: date, severity: Severity, rule: RectificationDeadlineRule) -> date:
    return ordered_on + timedelta(days=rule.days[severity])


def escalation_due(*, deadline_on: date, rule: RectificationDeadlineRule) -> date:
    """The first day on which an order still open is escalated."""
    return deadline_on + timedelta(days=rule.escalate_days_after_deadline + 1)


def escalated(severity: Severity) -> Severity:
    return LADDER[min(LADDER.index(severity) + 1, len(LADDER) - 1)]
