"""Incidents as reported and classified."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.alerts.database import Base
from services.alerts.incidents.rules import Level
from shared.db import UTCDateTime, utcnow

PlaceKind = Literal["school", "kindergarten", "banquet", "restaurant", "canteen", "market", "other"]


class Incident(Base, table=True):
    __tablename__ = "incidents"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    village_id: str | None = SQLField(default=None, max_length=40, index=True)
    business_id: uuid.UUID | None = SQLField(default=None, index=True)
    place_kind: str = SQLField(max_length=20)
    ill_count: int
    death_count: int
    crosses_province: bool = False
    level: str = SQLField(max_length=10, index=True)
    status: str = SQLField(default="reported", max_length=16, index=True)
    description: str = SQLField(max_length=4000)
    onset_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    reported_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    reported_by: str = SQLField(max_length=120)


class IncidentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    township_id: str = Field(min_length=1, max_length=40)
    village_id: str | None = Field(default=None, max_length=40)
    business_id: uuid.UUID | None = None
    ill_count: int = Field(ge=0, le=1_000_000, description="People ill")
    death_count: int = Field(default=0, ge=0, le=1_000_000, description="People dead")
    place_kind: PlaceKind
    crosses_province: bool = Field(default=False, description="Spreads beyond the province (level I)")
    onset_at: datetime | None = Field(default=None, description="Time of onset (ISO 8601 with zone)")
    description: str = Field(min_length=1, max_length=4000)

    @field_validator("death_count")
    @classmethod
    def _no_more_dead_than_ill(cls, deaths: int, info: ValidationInfo) -> int:
        ill = info.data.get("ill_count")
        if ill is not None and deaths > ill:
            raise ValueError("cannot exceed ill_count (the dead are counted among the ill)")
        return deaths

    @field_validator("onset_at")
    @classmethod
    def _zoned(cls, onset: datetime | None) -> datetime | None:
        if onset is not None and onset.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-06-01T12:00:00+08:00")
        return onset


class IncidentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    county_id: str
    township_id: str
    village_id: str | None
    business_id: uuid.UUID | None
    place_kind: PlaceKind
    ill_count: int
    death_count: int
    crosses_province: bool
    level: Level
    status: str
    description: str
    onset_at: datetime | None
    reported_at: datetime
    reported_by: str
