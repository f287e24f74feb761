"""Rural group banquets filed with the village coordinator."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import JSON, Column
from sqlmodel import Field as SQLField

from services.registry.database import Base
from shared.dates import Day
from shared.db import UTCDateTime, utcnow

Occasion = Literal["wedding", "funeral", "birthday", "celebration", "other"]
HealthStatus = Literal["certified", "expired", "none"]


class Banquet(Base, table=True):
    __tablename__ = "banquets"
    audit_entity: ClassVar[str] = "banquet"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    village_id: str = SQLField(foreign_key="places.id", index=True)
    host: str = SQLField(max_length=120)
    occasion: Occasion = SQLField(max_length=20, sa_type=sa.String(20))
    held_on: date = SQLField(index=True)
    venue: str = SQLField(max_length=300)
    tables: int
    people: int
    cook: dict = SQLField(sa_column=Column(JSON, nullable=False))
    helpers: list = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    food_sources: list = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    filed_on: date
    filing_required: bool
    late: bool
    guidance_due: bool
    filed_by: str = SQLField(max_length=120)
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class FoodHandler(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    health_status: HealthStatus = Field(description="certified (valid health certificate), expired, none")
    certificate_number: str | None = Field(default=None, max_length=60)


class BanquetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    village_id: str = Field(min_length=1, max_length=40)
    host: str = Field(min_length=1, max_length=120, description="The family holding the banquet")
    occasion: Occasion
    held_on: Day
    venue: str = Field(min_length=1, max_length=300, description="Where it is held")
    tables: int = Field(ge=1, le=1000)
    people: int = Field(ge=1, le=20_000)
    cook: FoodHandler
    helpers: list[FoodHandler] = Field(default_factory=list, max_length=100)
    food_sources: list[str] = Field(min_length=1, max_length=50, description="Where the food is bought")


class BanquetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    county_id: str
    township_id: str
    village_id: str
    host: str
    occasion: Occasion
    held_on: date
    venue: str
    tables: int
    people: int
    cook: FoodHandler
    helpers: list[FoodHandler]
    food_sources: list[str]
    filed_on: date
    filing_required: bool
    late: bool
    guidance_due: bool
    filed_by: str


class BanquetAssessment(BaseModel):
    """What the filing rules would decide for a banquet filed today, before it is filed: the
    filing form shows it as the coordinator types (late? on-site guidance?)."""

    filing_required: bool
    late: bool
    guidance_due: bool
    days_ahead: int = Field(description="Days from today to the banquet (negative: already held)")
    notice_days: int = Field(description="Days ahead a filing is due")
    immediate: bool = Field(description="This occasion is filed at once (a funeral), not days ahead")
    filing_min_people: int
    filing_min_tables: int
    guidance_min_people: int
