"""Rule tables: every rule with numbers that a province may change is a row with a region and the
date it takes effect, and logic asks for the row in force instead of holding the number.

A region is a county id (or a province's, for rows shared by its counties); "default" rows carry
the national defaults from DOMAIN.md.
"""

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
    """The newest row of `region` in force on `on`, else the newest default row in force."""
    for wanted in (region, "default"):
        candidates = [rule for rule in table if rule.region == wanted and rule.effective_from <= on]
        if candidates:
            return max(candidates, key=lambda rule: rule.effective_from)
    raise LookupError(f"no {what} rule in force for {region} on {on}")
