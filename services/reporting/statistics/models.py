"""Shapes of the statistics answers: every figure with the link to the records behind it."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field, computed_field

from shared.paging import Page


class PlaceRead(BaseModel):
    id: str
    level: str
    name: str


class PeriodRead(BaseModel):
    code: str
    label: str
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")


class GroupFigure(BaseModel):
    group: str
    label: str
    value: float
    link: str


class Figure(BaseModel):
    key: str
    label: str
    section: str
    value: float
    unit: str
    link: str = Field(description="Drill-down: the records this figure counts")
    groups: list[GroupFigure] = Field(default_factory=list)

    def group(self, name: str) -> float:
        return next((item.value for item in self.groups if item.group == name), 0)


class CampaignFigure(BaseModel):
    campaign_id: str
    name: str
    kind: str
    starts_on: date
    ends_on: date
    target: int | None
    done: int
    ratio: float | None
    link: str


class VillageCoverage(BaseModel):
    village_id: str
    name: str
    registered: int
    graded: int
    ratio: float | None
    link: str


class TownshipCoverage(BaseModel):
    township_id: str
    name: str
    registered: int
    graded: int
    ratio: float | None
    link: str


class Coverage(BaseModel):
    ratio: float | None
    target: float
    window_months: int
    by_village: list[VillageCoverage]
    by_township: list[TownshipCoverage] = Field(default_factory=list, description="For a county")


class Statistics(BaseModel):
    place: PlaceRead
    period: PeriodRead
    figures: dict[str, Figure]
    campaigns: list[CampaignFigure]
    coverage: Coverage

    def value(self, key: str) -> float:
        return self.figures[key].value


class RecordPage(Page[dict[str, Any]]):
    """A page of the records a figure counts, beside the figure's key, label and group. The API
    has always called its rows `records`: they are written out under that name."""

    items: list[dict[str, Any]] = Field(exclude=True)
    key: str
    label: str
    group: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def records(self) -> list[dict[str, Any]]:
        return self.items
