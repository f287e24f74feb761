"""When no dynamic grade is given (评级空窗期): for `months_after_new_licence` months after a new
food operating permit, and for `months_after_incident` months after the business caused a
food-safety incident. The outcome, action and score are still recorded."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from shared.rules import rule_in_force

BlackoutReason = Literal["new_licence", "incident"]


@dataclass(frozen=True)
class GradeBlackoutRule:
    region: str
    effective_from: date
    months_after_new_licence: int = 3
    months_after_incident: int = 6


RULE_TABLE: tuple[GradeBlackoutRule, ...] = (
    GradeBlackoutRule(region="default", effective_from=date(2012, 1, 1)),
)


def rule_for(region: str, on: date, table: Sequence[GradeBlackoutRule] = RULE_TABLE) -> GradeBlackoutRule:
    return rule_in_force(table, region=region, on=on, what="grade blackout")


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clipped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def blackout(
    *, on: date, licensed_on: date | None, last_incident_on: date | None, rule: GradeBlackoutRule
) -> BlackoutReason | None:
    """Why a visit on `on` gives no grade, or None if it grades. The blackout ends on the day the
    months have run (a permit of 10 March grades again from 10 June)."""
    if last_incident_on is not None and last_incident_on <= on < add_months(
        last_incident_on, rule.months_after_incident
    ):
        return "incident"
    if licensed_on is not None and licensed_on <= on < add_months(licensed_on, rule.months_after_new_licence):
        return "new_licence"
    return None
