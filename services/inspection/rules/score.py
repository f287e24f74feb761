"""The inspection score (0-100) behind the dynamic grade: the weighted share of applicable items
that passed, a key item weighing `key_weight` general ones. With no applicable item the score is
100 (nothing was found wanting); the dynamic grade rule decides whether such a visit grades."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from services.inspection.rules.outcome import Tally
from shared.rules import rule_in_force


@dataclass(frozen=True)
class ScoreRule:
    region: str
    effective_from: date
    key_weight: int = 3
    general_weight: int = 1
    decimals: int = 1


RULE_TABLE: tuple[ScoreRule, ...] = (ScoreRule(region="default", effective_from=date(2022, 3, 15)),)


def rule_for(region: str, on: date, table: Sequence[ScoreRule] = RULE_TABLE) -> ScoreRule:
    return rule_in_force(table, region=region, on=on, what="inspection score")


def score_of(tally: Tally, rule: ScoreRule) -> float:
    earned = tally.key_passed * rule.key_weight + tally.general_passed * rule.general_weight
    possible = (tally.key_passed + tally.key_failed) * rule.key_weight + (
        tally.general_passed + tally.general_failed
    ) * rule.general_weight
    if possible == 0:
        return 100.0
    return round(100 * earned / possible, rule.decimals)
