"""Records reporting owns because no other service does: publicity events, trainings and the
annual assessment scores of the villages. Each table beside its pydantic shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Column, Field

from services.reporting.database import Base
from shared.catalogue.reporting import PublicityKind, TrainingAudience
from shared.dates import Day
from shared.db import UTCDateTime, utcnow


class PublicityEvent(Base, table=True):
    __tablename__ = "publicity_events"
    audit_entity: ClassVar[str] = "publicity_event"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = Field(max_length=40, index=True)
    township_id: str = Field(max_length=40, index=True)
    village_id: str | None = Field(default=None, max_length=40)
    kind: str = Field(max_length=20)
    title: str = Field(max_length=200)
    held_on: date = Field(index=True)
    venue: str | None = Field(default=None, max_length=200)
    banners: int = 0
    boards: int = 0
    leaflets: int = 0
    people_consulted: int = 0
    recorded_by: str = Field(max_length=120)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Training(Base, table=True):
    __tablename__ = "trainings"
    audit_entity: ClassVar[str] = "training"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = Field(max_length=40, index=True)
    township_id: str = Field(max_length=40, index=True)
    village_id: str | None = Field(default=None, max_length=40)
    title: str = Field(max_length=200)
    audience: str = Field(max_length=20)
    held_on: date = Field(index=True)
    attendees: int
    hours: float
    recorded_by: str = Field(max_length=120)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class VillageAssessment(Base, table=True):
    __tablename__ = "village_assessments"
    audit_entity: ClassVar[str] = "village_assessment"
    __table_args__ = (sa.UniqueConstraint("village_id", "year", name="uq_village_assessments_village_year"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = Field(max_length=40, index=True)
    township_id: str = Field(max_length=40, index=True)
    village_id: str = Field(max_length=40)
    year: int
    score: float
    assessed_on: date = Field(index=True)
    note: str | None = Field(default=None, max_length=2000)
    recorded_by: str = Field(max_length=120)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


Count = PydanticField(default=0, ge=0, le=1_000_000)


class PlaceFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    township_id: str | None = PydanticField(
        default=None, max_length=40, description="Required for county users; a township's own by default"
    )
    village_id: str | None = PydanticField(default=None, max_length=40)


class PublicityCreate(PlaceFields):
    kind: PublicityKind
    title: str = PydanticField(min_length=1, max_length=200)
    held_on: Day
    venue: str | None = PydanticField(default=None, max_length=200)
    banners: int = Count
    boards: int = Count
    leaflets: int = Count
    people_consulted: int = Count


class PublicityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    county_id: str
    township_id: str
    village_id: str | None
    kind: str
    title: str
    held_on: date
    venue: str | None
    banners: int
    boards: int
    leaflets: int
    people_consulted: int
    recorded_by: str


class TrainingCreate(PlaceFields):
    title: str = PydanticField(min_length=1, max_length=200)
    audience: TrainingAudience
    held_on: Day
    attendees: int = PydanticField(ge=1, le=100_000)
    hours: float = PydanticField(gt=0, le=200)


class TrainingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    county_id: str
    township_id: str
    village_id: str | None
    title: str
    audience: str
    held_on: date
    attendees: int
    hours: float
    recorded_by: str


class AssessmentSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: float = PydanticField(ge=0, le=100)
    assessed_on: Day
    note: str | None = PydanticField(default=None, max_length=2000)


class AssessmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    county_id: str
    township_id: str
    village_id: str
    year: int
    score: float
    assessed_on: date
    note: str | None
    recorded_by: str
