"""Special and holiday campaigns (专项整治 / 节日专项): focus, period and targets per township."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import JSON, Column
from sqlmodel import Field as SQLField

from services.inspection.database import Base
from shared.dates import Day
from shared.db import UTCDateTime, utcnow

CampaignKind = Literal["holiday", "special"]
Holiday = Literal["mid_autumn", "national_day", "new_year", "spring_festival", "labour_day"]
HOLIDAY_NAMES: dict[str, str] = {
    "mid_autumn": "中秋",
    "national_day": "国庆",
    "new_year": "元旦",
    "spring_festival": "春节",
    "labour_day": "五一",
}


class Campaign(Base, table=True):
    """A county-wide record: it belongs to no township, so its audit line and event carry none."""

    __tablename__ = "campaigns"
    audit_entity: ClassVar[str] = "campaign"
    township_id: ClassVar[str | None] = None

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    name: str = SQLField(max_length=200)
    kind: str = SQLField(max_length=12)
    holiday: str | None = SQLField(default=None, max_length=20)
    focus_foods: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    focus_business_kinds: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    focus_places: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    targets: dict[str, int] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    starts_on: date
    ends_on: date
    created_by: str = SQLField(max_length=120)
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: CampaignKind
    holiday: Holiday | None = None
    focus_foods: list[str] = Field(default_factory=list, max_length=50, description="e.g. 月饼, 肉类, 酒类")
    focus_business_kinds: list[str] = Field(default_factory=list, max_length=20)
    focus_places: list[str] = Field(
        default_factory=list, max_length=50, description="Place kinds or names, e.g. 农贸市场, 校园周边"
    )
    starts_on: Day
    ends_on: Day
    targets: dict[str, int] = Field(default_factory=dict, description="Township id -> inspections to do")

    @model_validator(mode="after")
    def _consistent(self) -> CampaignCreate:
        if self.kind == "holiday" and self.holiday is None:
            raise ValueError("a holiday campaign names its holiday")
        if self.kind == "special" and self.holiday is not None:
            raise ValueError("only a holiday campaign names a holiday")
        return self


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: CampaignKind
    holiday: Holiday | None
    focus_foods: list[str]
    focus_business_kinds: list[str]
    focus_places: list[str]
    targets: dict[str, int]
    starts_on: date
    ends_on: date
    created_by: str


class TownshipProgress(BaseModel):
    township_id: str
    target: int
    done: int
    ratio: float | None  # done / target; None without a target


class CampaignProgress(BaseModel):
    campaign_id: uuid.UUID
    name: str
    townships: list[TownshipProgress]
