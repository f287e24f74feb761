"""What an incident does to the business it names: investigation, and suspension for the worst.

Any incident that names a business puts it under investigation. An incident of level III (较大)
or worse (II 重大, I 特别重大) also suspends it until the township office decides to reactivate or
close it. Data per region with the date it takes effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from shared.rules import rule_in_force


@dataclass(frozen=True)
class InvestigationRule:
    region: str
    effective_from: date
    suspend_at_levels: frozenset[str] = frozenset({"I", "II", "III"})


RULE_TABLE: tuple[InvestigationRule, ...] = (
    InvestigationRule(region="default", effective_from=date(2011, 10, 13)),
)


def rule_for(region: str, on: date, table: Sequence[InvestigationRule] = RULE_TABLE) -> InvestigationRule:
    """The rule in force for the region on the day."""
    return rule_in_force(table, region=region, on=on, what="investigation")


def suspends(level: str, rule: InvestigationRule) -> bool:
    """Whether an incident of this level suspends the business pending the township's decision."""
    return level in rule.suspend_at_levels
