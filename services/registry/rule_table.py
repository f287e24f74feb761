"""Picking the rule in force from a rule table: the newest rule of the region on the day, else the
newest default rule. Every rule with numbers (risk levels, expiry notices, health certificates,
banquet filing, investigations) is a row in such a table."""

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
    for wanted in (region, "default"):
        candidates = [rule for rule in table if rule.region == wanted and rule.effective_from <= on]
        if candidates:
            return max(candidates, key=lambda rule: rule.effective_from)
    raise LookupError(f"no {what} rule in force for {region} on {on}")
