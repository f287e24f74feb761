"""The starting risk level of a newly registered business, by kind (食品生产经营风险分级管理).

A-D from low to high risk. A school or kindergarten canteen (and a central kitchen) starts at D.
The table is data: a province changes it without touching the logic.
"""

from __future__ import annotations

from typing import Literal

RiskLevel = Literal["A", "B", "C", "D"]

BUSINESS_KINDS = (
    "catering",
    "workshop",
    "school_canteen",
    "central_kitchen",
    "school_area_shop",
    "street_vendor",
    "market",
    "grocery",
    "slaughterhouse",
    "producer",
    "other",
)

INITIAL_RISK_LEVEL: dict[str, RiskLevel] = {
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


def initial_risk_level(kind: str) -> RiskLevel:
    return INITIAL_RISK_LEVEL.get(kind, "B")
