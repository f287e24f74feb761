"""Complaints and reports from the public (投诉、举报), with their working-day deadlines."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import AutoString, Column
from sqlmodel import Field as SQLField

from services.inspection.database import Base
from shared.catalogue.inspection import ComplaintChannel, ComplaintKind
from shared.dates import Moment
from shared.db import UTCDateTime, utcnow

Channel = ComplaintChannel
ComplaintStatus = Literal["received", "accepted", "refused", "closed"]


class Complaint(Base, table=True):
    __tablename__ = "complaints"
    audit_entity: ClassVar[str] = "complaint"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    business_id: uuid.UUID | None = SQLField(default=None, index=True)
    channel: Channel = SQLField(max_length=12, sa_type=AutoString(length=12))
    kind: ComplaintKind = SQLField(max_length=12, sa_type=AutoString(length=12))
    complainant: str | None = SQLField(default=None, max_length=100)
    contact: str | None = SQLField(default=None, max_length=100)
    content: str = SQLField(max_length=4000)
    received_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    received_on: date
    accept_due: date = SQLField(index=True)
    verify_due: date = SQLField(index=True)
    status: ComplaintStatus = SQLField(
        default="received", max_length=12, index=True, sa_type=AutoString(length=12)
    )
    decided_on: date | None = None
    refusal_reason: str | None = SQLField(default=None, max_length=1000)
    assignee: str | None = SQLField(default=None, max_length=120)
    followup_inspection_id: uuid.UUID | None = None
    followed_up_on: date | None = None
    closed_on: date | None = None
    result: str | None = SQLField(default=None, max_length=2000)
    accept_missed_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    verify_missed_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    received_by: str = SQLField(max_length=120)
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    kind: ComplaintKind = "complaint"
    township_id: str | None = Field(default=None, description="Default: the business's, or the caller's")
    business_id: uuid.UUID | None = None
    complainant: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=100)
    content: str = Field(min_length=1, max_length=4000)
    received_at: Moment | None = Field(default=None, description="Default: now")


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: bool
    reason: str | None = Field(default=None, max_length=1000, description="Required when refusing")


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str = Field(min_length=1, max_length=120)


class Closure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: str = Field(min_length=1, max_length=2000)


class ComplaintRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    township_id: str
    business_id: uuid.UUID | None
    channel: Channel
    kind: ComplaintKind
    complainant: str | None
    contact: str | None
    content: str
    received_at: datetime
    received_on: date
    accept_due: date
    verify_due: date
    status: ComplaintStatus
    decided_on: date | None
    refusal_reason: str | None
    assignee: str | None
    followup_inspection_id: uuid.UUID | None
    followed_up_on: date | None
    closed_on: date | None
    result: str | None
    accept_missed: bool = False
    verify_missed: bool = False
