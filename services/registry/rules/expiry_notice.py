"""How far ahead the registry warns that a health certificate, licence or permit expires.

The daily scan emits `*.expiring` this many days before the expiry date and `*.expired` the day
after it. Per region with the date a rule takes effect; a caller (the CLI) may override the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from shared.rules import rule_in_force


@dataclass(frozen=True)
class ExpiryNoticeRule:
    region: str
    effective_from: date
    certificate_warning_days: int = 30
    licence_warning_days: int = 30


RULE_TABLE: tuple[ExpiryNoticeRule, ...] = (
    ExpiryNoticeRule(region="default", effective_from=date(2015, 10, 1)),
)


def rule_for(region: str, on: date, table: Sequence[ExpiryNoticeRule] = RULE_TABLE) -> ExpiryNoticeRule:
    """The rule in force for the region on the day."""
    return rule_in_force(table, region=region, on=on, what="expiry notice")
