"""Food businesses in the register."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.registry.businesses.rules import RiskLevel
from services.registry.database import Base
from shared.db import UTCDateTime, utcnow

BusinessKind = Literal[
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
]
BusinessStatus = Literal["active", "suspended", "closed"]


class Business(Base, table=True):
    __tablename__ = "businesses"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    village_id: str | None = SQLField(default=None, foreign_key="places.id", index=True)
    name: str = SQLField(max_length=200, index=True)
    kind: str = SQLField(max_length=40, index=True)
    operator: str | None = SQLField(default=None, max_length=120)
    address: str | None = SQLField(default=None, max_length=300)
    risk_level: str = SQLField(max_length=1)
    status: str = SQLField(default="active", max_length=16, index=True)
    registered_on: date
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = SQLField(max_length=120)


class BusinessCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, description="Registered name, e.g. 青云镇好味餐馆")
    kind: BusinessKind
    village_id: str = Field(min_length=1, max_length=40, description="The village the business is in")
    operator: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=300)
    registered_on: date | None = Field(default=None, description="Defaults to today (Asia/Shanghai)")


class BusinessRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    county_id: str
    township_id: str
    village_id: str | None
    name: str
    kind: BusinessKind
    operator: str | None
    address: str | None
    risk_level: RiskLevel
    status: BusinessStatus
    registered_on: date
    created_at: datetime


class BusinessPage(BaseModel):
    items: list[BusinessRead]
    total: int
    offset: int
    limit: int
