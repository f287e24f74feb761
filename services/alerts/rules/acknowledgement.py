"""When must an escalation step acknowledge an incident, and who hears of it at once?

From the reporting deadlines in docs/domain.md (varying by province, so a rule table with a region and the
date a rule takes effect), seeded with the defaults:

* the chain is village coordinator -> township office -> county office (a policy may add tiers);
* each step acknowledges within 2 h for level III/IV and 1 h for level I/II; unacknowledged, the
  next step is notified exactly at that deadline;
* level II or worse notifies every step up to the county at once;
* below IV (fewer than 30 ill, no death) stays with the township: its step acknowledges within
  2 h, and an unacknowledged incident reminds the township instead of going to the county;
* an acknowledgement with no progress (responding, contained) within the progress window lapses,
  and the step is notified again;
* when the chain runs out, its top step is reminded at its deadline up to `reminders_at_top` times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar

from shared.rules import rule_in_force

if TYPE_CHECKING:  # the catalogue is imported through shared.events, which it imports itself
    from shared.catalogue.alerts import IncidentLevel

Value = TypeVar("Value")

# the tiers of a chain: village, township, county, then whatever a policy adds (city, province)
TIER_ORDER: dict[str, int] = {"village": 0, "township": 1, "county": 2, "city": 3, "province": 4}


def _frozen(values: dict[str, Value]) -> Mapping[str, Value]:
    return MappingProxyType(values)


@dataclass(frozen=True)
class AcknowledgementRule:
    region: str
    effective_from: date
    deadline_minutes: Mapping[str, int] = field(
        default_factory=lambda: _frozen({"I": 60, "II": 60, "III": 120, "IV": 120, "below_IV": 120})
    )
    at_once_tier: Mapping[str, str] = field(
        default_factory=lambda: _frozen(
            {"I": "county", "II": "county", "III": "township", "IV": "township", "below_IV": "township"}
        )
    )
    top_tier: Mapping[str, str] = field(
        default_factory=lambda: _frozen(
            {"I": "province", "II": "province", "III": "province", "IV": "province", "below_IV": "township"}
        )
    )
    progress_minutes: Mapping[str, int] = field(
        default_factory=lambda: _frozen({"I": 60, "II": 60, "III": 120, "IV": 120, "below_IV": 240})
    )
    reminders_at_top: int = 3
    chain: tuple[str, ...] = ("village", "township", "county")


RULE_TABLE: tuple[AcknowledgementRule, ...] = (
    AcknowledgementRule(region="default", effective_from=date(2011, 10, 13)),
)


def rule_for(
    region: str, on: date, table: tuple[AcknowledgementRule, ...] = RULE_TABLE
) -> AcknowledgementRule:
    """The newest rule in force on the day for the region (a county id), else the newest default."""
    return rule_in_force(table, region=region, on=on, what="acknowledgement")


def tier_rank(tier: str) -> int:
    """Position of a tier in the hierarchy; unknown tiers rank above the province."""
    return TIER_ORDER.get(tier, len(TIER_ORDER))


def deadline_minutes(rule: AcknowledgementRule, level: IncidentLevel) -> int:
    return int(rule.deadline_minutes[level])


def notified_at_once(rule: AcknowledgementRule, level: IncidentLevel, tier: str) -> bool:
    """Whether a step of this tier hears of a new incident of this level at once."""
    return tier_rank(tier) <= tier_rank(rule.at_once_tier[level])


def within_reach(rule: AcknowledgementRule, level: IncidentLevel, tier: str) -> bool:
    """Whether an incident of this level may be escalated to this tier at all."""
    return tier_rank(tier) <= tier_rank(rule.top_tier[level])
