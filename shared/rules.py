"""Rule tables: every rule with numbers that a province may change is a row with a region and the
date it takes effect, and logic asks for the row in force instead of holding the number.

A region is a county id (or a province's, for rows shared by its counties); "default" rows carry
the national defaults listed in docs/domain.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Protocol, TypeVar

from shared.errors import Invalid


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
    earliest = min(
        (rule.effective_from for rule in table if rule.region in (region, "default")), default=None
    )
    raise NoRuleInForce(what=what, region=region, on=on, earliest=earliest)


class NoRuleInForce(LookupError):
    """A date before the first row of a rule table: the rule cannot be applied to it."""

    def __init__(self, *, what: str, region: str, on: date, earliest: date | None) -> None:
        super().__init__(f"no {what} rule in force for {region} on {on}")
        self.what = what
        self.on = on
        self.earliest = earliest

    @property
    def reason(self) -> str:
        since = f"; the rules apply from {self.earliest.isoformat()}" if self.earliest else ""
        return f"no {self.what} rule is in force on {self.on.isoformat()}{since}"


@contextmanager
def dated_by(field: str) -> Iterator[None]:
    """Answer a date that no rule covers as bad input (422) naming the field that carried it, not
    as a server error: the date came from the client, the table is right."""
    try:
        yield
    except NoRuleInForce as error:
        raise Invalid(field, error.reason) from None
