"""Risk level (食品生产经营风险分级管理): where a business starts, and how inspections move it.

A-D from low to high risk. A school or kindergarten canteen and a central kitchen start at D and
never go below it. After each inspection the level moves one step: up for a non-compliant outcome,
an order to stop operating or a "fair" dynamic grade; down after enough "excellent" grades in a row.
The numbers are data (per region, with the date a rule takes effect), never spread over handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from shared.catalogue.registry import RiskLevel
from shared.rules import rule_in_force

LEVELS: tuple[RiskLevel, ...] = ("A", "B", "C", "D")


@dataclass(frozen=True)
class RiskRule:
    region: str
    effective_from: date
    initial: dict[str, RiskLevel] = field(
        default_factory=lambda: {
            "school_canteen": "D",
            "central_kitchen": "D",
            "producer": "C",
            "slaughterhouse": "C",
            "workshop": "C",
            "catering": "B",
            "market": "B",
            "school_area_shop": "B",
            "street_vendor": "B",
            "grocery": "A",
            "other": "B",
        }
    )
    default_initial: RiskLevel = "B"
    # kinds that never drop below their starting level (canteens serving students, central kitchens)
    floor_at_initial: frozenset[str] = frozenset({"school_canteen", "central_kitchen"})
    raise_on_outcomes: frozenset[str] = frozenset({"non_compliant"})
    raise_on_actions: frozenset[str] = frozenset({"stop_operating"})
    raise_on_grades: frozenset[str] = frozenset({"fair"})
    lower_after_excellent_in_a_row: int = 3


RULE_TABLE: tuple[RiskRule, ...] = (RiskRule(region="default", effective_from=date(2016, 9, 5)),)


def rule_for(region: str, on: date, table: Sequence[RiskRule] = RULE_TABLE) -> RiskRule:
    """The rule in force for the region on the day."""
    return rule_in_force(table, region=region, on=on, what="risk level")


def initial_risk_level(kind: str, rule: RiskRule) -> RiskLevel:
    return rule.initial.get(kind, rule.default_initial)


def adjusted_risk_level(
    *,
    kind: str,
    current: RiskLevel,
    outcome: str,
    action: str,
    recent_grades: Sequence[str | None],
    rule: RiskRule,
) -> RiskLevel:
    """The level after an inspection. `recent_grades` are the dynamic grades newest first, this
    inspection's included."""
    index = LEVELS.index(current)
    latest = recent_grades[0] if recent_grades else None
    if outcome in rule.raise_on_outcomes or action in rule.raise_on_actions or latest in rule.raise_on_grades:
        return LEVELS[min(index + 1, len(LEVELS) - 1)]
    needed = rule.lower_after_excellent_in_a_row
    if len(recent_grades) >= needed and all(grade == "excellent" for grade in recent_grades[:needed]):
        floor = LEVELS.index(initial_risk_level(kind, rule)) if kind in rule.floor_at_initial else 0
        return LEVELS[max(index - 1, floor)]
    return current
