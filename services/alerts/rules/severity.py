"""Incident severity (食品安全事故分级, docs/domain.md): when is an incident level I, II, III, IV, or
below IV?

The thresholds vary by province, so they are a rule table (a region and the date a rule takes
effect), seeded with the national defaults:

* I   (特别重大): the incident crosses provinces / goes beyond the province;
* II  (重大):     >= 100 ill with a death, or >= 10 deaths, or a school poisoning with >= 50 ill;
* III (较大):     >= 100 ill, or any death;
* IV  (一般):     30-99 ill, no death;
* below IV:       fewer than 30 ill and no death; still recorded, handled by the township.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from shared.rules import rule_in_force

if TYPE_CHECKING:  # the catalogue is imported through shared.events, which it imports itself
    from shared.catalogue.alerts import IncidentLevel

SCHOOL_PLACE_KINDS = frozenset({"school", "kindergarten"})


@dataclass(frozen=True)
class SeverityRule:
    region: str
    effective_from: date
    level_iv_min_ill: int = 30
    level_iii_min_ill: int = 100
    level_ii_min_ill_with_death: int = 100
    level_ii_min_deaths: int = 10
    level_ii_school_min_ill: int = 50


RULE_TABLE: tuple[SeverityRule, ...] = (SeverityRule(region="default", effective_from=date(2011, 10, 13)),)


def rule_for(region: str, on: date, table: tuple[SeverityRule, ...] = RULE_TABLE) -> SeverityRule:
    """The newest rule in force on the day for the region, else the newest default rule."""
    return rule_in_force(table, region=region, on=on, what="incident severity")


def classify(
    *, ill: int, deaths: int, place_kind: str, rule: SeverityRule, crosses_province: bool = False
) -> IncidentLevel:
    if crosses_province:
        return "I"
    if (
        (ill >= rule.level_ii_min_ill_with_death and deaths > 0)
        or deaths >= rule.level_ii_min_deaths
        or (place_kind in SCHOOL_PLACE_KINDS and ill >= rule.level_ii_school_min_ill)
    ):
        return "II"
    if ill >= rule.level_iii_min_ill or deaths > 0:
        return "III"
    if ill >= rule.level_iv_min_ill:
        return "IV"
    return "below_IV"
