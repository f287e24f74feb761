"""Picking the row in force from a rule table: the newest row of the region on the day, else the
newest default row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol, TypeVar


class DatedRule(Protocol):
    @property
    def region(self) -> str: ...

    @property
    def effective_from(self) -> date: ...


RuleT = TypeVar("RuleT", bound=DatedRule)


def rule_in_force(table: Sequence[RuleT], *, region: str, on: date, what: str) -> RuleT:
    """The row for `region` (a county id) in force on `on`, falling back to the default rows."""
    for wanted in (region, "default"):
        candidates = [rule for rule in table if rule.region == wanted and rule.effective_from <= on]
        if candidates:
            return max(candidates, key=lambda rule: rule.effective_from)
    raise LookupError(f"no {what} rule in force for {region} on {on}")
