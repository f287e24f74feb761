"""The shape of a township's summary figures (computed from the read models)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class BusinessFigures(BaseModel):
    registered_total: int = Field(description="Businesses registered on or before the period's end")
    registered_in_period: int
    by_kind: dict[str, int]


class IncidentFigures(BaseModel):
    total: int
    by_level: dict[str, int]
    ill: int
    deaths: int


class TownshipSummary(BaseModel):
    township_id: str
    township_name: str
    period_from: date = Field(serialization_alias="from")
    period_to: date = Field(serialization_alias="to")
    businesses: BusinessFigures
    incidents: IncidentFigures
