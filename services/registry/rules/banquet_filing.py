"""Rural group banquets (农村群体性宴席/聚餐备案): when filing is required, when it is late, and when
the township owes on-site guidance.

Defaults: a gathering of >= 50 people (or about 5 tables) is filed with the village coordinator at
least 3 days ahead; a funeral is filed at once (late only if filed after it was held); >= 100 people
may get on-site guidance from the township. Numbers vary by province: rows per region with the date
a rule takes effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from shared.rules import rule_in_force


@dataclass(frozen=True)
class BanquetRule:
    region: str
    effective_from: date
    filing_min_people: int = 50
    filing_min_tables: int = 5
    notice_days: int = 3
    immediate_occasions: frozenset[str] = frozenset({"funeral"})
    guidance_min_people: int = 100


RULE_TABLE: tuple[BanquetRule, ...] = (BanquetRule(region="default", effective_from=date(2010, 1, 1)),)


def rule_for(region: str, on: date, table: Sequence[BanquetRule] = RULE_TABLE) -> BanquetRule:
    """The rule in force for the region on the day."""
    return rule_in_force(table, region=region, on=on, what="banquet filing")


@dataclass(frozen=True)
class Assessment:
    filing_required: bool
    late: bool
    guidance_due: bool


def assess(
    *, people: int, tables: int, occasion: str, held_on: date, filed_on: date, rule: BanquetRule
) -> Assessment:
    required = people >= rule.filing_min_people or tables >= rule.filing_min_tables
    if occasion in rule.immediate_occasions:
        late = required and filed_on > held_on
    else:
        late = required and (held_on - filed_on).days < rule.notice_days
    return Assessment(filing_required=required, late=late, guidance_due=people >= rule.guidance_min_people)
