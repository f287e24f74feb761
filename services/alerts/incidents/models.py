"""Incidents as reported and classified, their reports, and the timeline of every step."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from sqlmodel import JSON, Column
from sqlmodel import Field as SQLField
from sqlmodel.sql.sqltypes import AutoString

from services.alerts.database import Base
from shared.catalogue.alerts import IncidentLevel, IncidentStatus
from shared.dates import Moment
from shared.db import UTCDateTime, utcnow

PlaceKind = Literal["school", "kindergarten", "banquet", "restaurant", "canteen", "market", "other"]
ReporterKind = Literal["village_coordinator", "township", "county", "inspector", "business", "public"]
MAX_PEOPLE = 1_000_000


class Incident(Base, table=True):
    __tablename__ = "incidents"
    audit_entity: ClassVar[str] = "incident"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    village_id: str | None = SQLField(default=None, max_length=40, index=True)
    business_id: uuid.UUID | None = SQLField(default=None, index=True)
    place_kind: str = SQLField(max_length=20)
    ill_count: int
    death_count: int
    crosses_province: bool = False
    level: IncidentLevel = SQLField(sa_type=AutoString(length=10), index=True)
    status: IncidentStatus = SQLField(default="reported", sa_type=AutoString(length=16), index=True)
    description: str = SQLField(max_length=4000)
    onset_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    reported_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    reported_by: str = SQLField(max_length=120)

    address: str | None = SQLField(default=None, max_length=300)
    banquet_id: uuid.UUID | None = SQLField(default=None, index=True)
    hospitalised_count: int = 0
    suspected_food: str | None = SQLField(default=None, max_length=300)
    reporter_kind: str | None = SQLField(default=None, max_length=24)
    reporter_name: str | None = SQLField(default=None, max_length=120)
    reporter_contact: str | None = SQLField(default=None, max_length=120)
    report_count: int = 1
    # escalation state: the chain in force when the incident was reported (a snapshot, so a policy
    # edited later does not move an escalation already running) and where it stands
    escalation_steps: list[dict[str, Any]] = SQLField(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    escalation_step: int | None = None
    escalation_repeats: int = 0
    awaiting_ack: bool = True
    acknowledged_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    acknowledged_by: str | None = SQLField(default=None, max_length=120)
    first_acknowledged_at: datetime | None = SQLField(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    responding_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    contained_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    closed_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    closed_by: str | None = SQLField(default=None, max_length=120)
    cause: str | None = SQLField(default=None, max_length=2000)


class IncidentReport(Base, table=True):
    """One report of an incident: the first, and every later one grouped into it."""

    __tablename__ = "incident_reports"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = SQLField(foreign_key="incidents.id", index=True)
    reported_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    reported_by: str = SQLField(max_length=120)
    reporter_kind: str | None = SQLField(default=None, max_length=24)
    reporter_name: str | None = SQLField(default=None, max_length=120)
    reporter_contact: str | None = SQLField(default=None, max_length=120)
    ill_count: int
    hospitalised_count: int
    death_count: int
    onset_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    description: str = SQLField(max_length=4000)


class TimelineEntry(Base, table=True):
    """Every step of an incident's life, in order: reports, notifications, acknowledgements,
    progress, notes, count changes, closing."""

    __tablename__ = "incident_timeline"

    id: int | None = SQLField(default=None, primary_key=True)
    incident_id: uuid.UUID = SQLField(foreign_key="incidents.id", index=True)
    at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    kind: str = SQLField(max_length=40)
    actor: str = SQLField(max_length=120)
    detail: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))


class _Counts(BaseModel):
    @field_validator("death_count", "hospitalised_count", check_fields=False)
    @classmethod
    def _within_the_ill(cls, value: int | None, info: ValidationInfo) -> int | None:
        ill = info.data.get("ill_count")
        if value is not None and ill is not None and value > ill:
            raise ValueError("cannot exceed ill_count (counted among the ill)")
        return value


class IncidentCreate(_Counts):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    township_id: str = Field(min_length=1, max_length=40)
    village_id: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=300)
    business_id: uuid.UUID | None = None
    banquet_id: uuid.UUID | None = None
    ill_count: int = Field(ge=0, le=MAX_PEOPLE, description="People ill")
    hospitalised_count: int = Field(default=0, ge=0, le=MAX_PEOPLE, description="People in hospital")
    death_count: int = Field(default=0, ge=0, le=MAX_PEOPLE, description="People dead")
    place_kind: PlaceKind
    crosses_province: bool = Field(default=False, description="Spreads beyond the province (level I)")
    onset_at: Moment | None = Field(default=None, description="Time of onset (ISO 8601 with zone)")
    suspected_food: str | None = Field(default=None, max_length=300)
    reporter_kind: ReporterKind | None = None
    reporter_name: str | None = Field(default=None, max_length=120)
    reporter_contact: str | None = Field(default=None, max_length=120)
    description: str = Field(min_length=1, max_length=4000)


class CountsUpdate(_Counts):
    """New counts (the whole current figures, not increments); omitted ones stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ill_count: int | None = Field(default=None, ge=0, le=MAX_PEOPLE)
    hospitalised_count: int | None = Field(default=None, ge=0, le=MAX_PEOPLE)
    death_count: int | None = Field(default=None, ge=0, le=MAX_PEOPLE)
    crosses_province: bool | None = None
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _something(self) -> CountsUpdate:
        counts = (self.ill_count, self.hospitalised_count, self.death_count, self.crosses_province)
        if all(value is None for value in counts):
            raise ValueError("give at least one of ill_count, hospitalised_count, death_count")
        return self


class Acknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=2000)


class Progress(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Literal["responding", "contained"]
    note: str | None = Field(default=None, max_length=2000)


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=4000)


class Close(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    cause: str = Field(min_length=1, max_length=2000, description="The established cause")
    note: str | None = Field(default=None, max_length=2000)


class IncidentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    county_id: str
    township_id: str
    village_id: str | None
    address: str | None = None
    business_id: uuid.UUID | None
    banquet_id: uuid.UUID | None = None
    place_kind: PlaceKind
    ill_count: int
    hospitalised_count: int = 0
    death_count: int
    crosses_province: bool
    level: IncidentLevel
    status: IncidentStatus
    description: str
    suspected_food: str | None = None
    onset_at: datetime | None
    reported_at: datetime
    reported_by: str
    reporter_kind: str | None = None
    reporter_name: str | None = None
    reporter_contact: str | None = None
    report_count: int = 1
    awaiting_ack: bool = True
    escalation_step: int | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    responding_at: datetime | None = None
    contained_at: datetime | None = None
    closed_at: datetime | None = None
    cause: str | None = None
    age_seconds: float | None = Field(default=None, description="Since the report, by the service clock")
    step_name: str | None = Field(default=None, description="The escalation step reached (its name)")
    step_tier: str | None = Field(default=None, description="The tier of the step reached")
    deadline_at: datetime | None = Field(
        default=None, description="The next deadline of the escalation, if one is running"
    )
    deadline_kind: Literal["acknowledge", "progress"] | None = Field(
        default=None,
        description="acknowledge: the step must acknowledge by then; progress: the acknowledgement "
        "lapses unless progress follows by then",
    )


class TimelineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]


class ReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reported_at: datetime
    reported_by: str
    reporter_kind: str | None
    reporter_name: str | None
    ill_count: int
    hospitalised_count: int
    death_count: int
    onset_at: datetime | None
    description: str


class ResponseTimes(BaseModel):
    incident_id: uuid.UUID
    township_id: str
    level: IncidentLevel
    seconds_to_acknowledge: float | None
    seconds_to_close: float | None


class TownshipResponse(BaseModel):
    township_id: str
    incidents: int
    acknowledged: int
    closed: int
    mean_seconds_to_acknowledge: float | None
    max_seconds_to_acknowledge: float | None
    mean_seconds_to_close: float | None
    max_seconds_to_close: float | None


class ResponseStats(BaseModel):
    incidents: list[ResponseTimes]
    townships: list[TownshipResponse]
