"""Complaint deadlines in working days (市场监督管理投诉举报处理): decide whether to accept a
complaint within `accept_working_days`, verify a report and decide on a case within
`verify_working_days`, both counted from the day after it was received."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from shared.rules import rule_in_force


@dataclass(frozen=True)
class ComplaintDeadlineRule:
    region: str
    effective_from: date
    accept_working_days: int = 7
    verify_working_days: int = 15


RULE_TABLE: tuple[ComplaintDeadlineRule, ...] = (
    ComplaintDeadlineRule(region="default", effective_from=date(2019, 12, 1)),
)


def rule_for(
    region: str, on: date, table: Sequence[ComplaintDeadlineRule] = RULE_TABLE
) -> ComplaintDeadlineRule:
    return rule_in_force(table, region=region, on=on, what="complaint deadline")
