"""Read models of the summaries: one row per business and per incident, from events only."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.reporting.database import Base
from shared.db import UTCDateTime


class ReportBusiness(Base, table=True):
    __tablename__ = "report_businesses"

    id: uuid.UUID = SQLField(primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    village_id: str | None = SQLField(default=None, max_length=40)
    kind: str = SQLField(max_length=40)
    status: str = SQLField(max_length=16)
    registered_on: date = SQLField(index=True)


class ReportIncident(Base, table=True):
    __tablename__ = "report_incidents"

    id: uuid.UUID = SQLField(primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    village_id: str | None = SQLField(default=None, max_length=40)
    level: str = SQLField(max_length=10)
    ill_count: int
    death_count: int
    reported_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False, index=True))


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
