"""Health certificates (健康证) of food handlers: valid one year (Food Safety Law art. 45).

A certificate issued on a day expires on the same day one year later (29 February -> 28 February).
Per region with the date the rule takes effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from shared.rules import rule_in_force


@dataclass(frozen=True)
class CertificateRule:
    region: str
    effective_from: date
    validity_years: int = 1


RULE_TABLE: tuple[CertificateRule, ...] = (
    CertificateRule(region="default", effective_from=date(2015, 10, 1)),
)


def rule_for(region: str, on: date, table: Sequence[CertificateRule] = RULE_TABLE) -> CertificateRule:
    """The rule in force for the region on the day."""
    return rule_in_force(table, region=region, on=on, what="health certificate")


def latest_expiry(issued_on: date, rule: CertificateRule) -> date:
    """The last day a certificate issued on `issued_on` may be valid (`rule`: the one in force that day)."""
    year = issued_on.year + rule.validity_years
    try:
        return issued_on.replace(year=year)
    except ValueError:  # 29 February
        return issued_on.replace(year=year, day=28)
