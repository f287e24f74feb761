"""How far past a period's end a licence or health certificate counts as "expiring" in the
figures: the same window in which the registry warns (its expiry notice rule)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from shared.rules import rule_in_force


@dataclass(frozen=True)
class ExpiryWindowRule:
    region: str
    effective_from: date
    licence_days: int = 30
    certificate_days: int = 30


RULE_TABLE: tuple[ExpiryWindowRule, ...] = (
    ExpiryWindowRule(region="default", effective_from=date(2015, 10, 1)),
)


def rule_for(region: str, on: date, table: Sequence[ExpiryWindowRule] = RULE_TABLE) -> ExpiryWindowRule:
    return rule_in_force(table, region=region, on=on, what="expiry window")
