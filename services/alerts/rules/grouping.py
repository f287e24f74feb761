"""When is a new report another report of an incident already open (one outbreak, many callers)?
See docs/domain.md, "Incident grouping".

A rule table (region, date in force), with the default: an open incident reported within the last
72 hours about the same business, the same banquet, or, when neither is named, the same village
and kind of place. The grouped incident keeps the highest count any report gave (several callers
describe the same sick people), and is reclassified from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.rules import rule_in_force


@dataclass(frozen=True)
class GroupingRule:
    region: str
    effective_from: date
    window_hours: int = 72
    by_business: bool = True
    by_banquet: bool = True
    by_village_and_place_kind: bool = True


RULE_TABLE: tuple[GroupingRule, ...] = (GroupingRule(region="default", effective_from=date(2011, 10, 13)),)


def rule_for(region: str, on: date, table: tuple[GroupingRule, ...] = RULE_TABLE) -> GroupingRule:
    """The newest rule in force on the day for the region, else the newest default rule."""
    return rule_in_force(table, region=region, on=on, what="incident grouping")
