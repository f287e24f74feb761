"""Alerts raised from other services' events: short of an incident, still a township's business."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Column
from sqlmodel import Field as SQLField
from sqlmodel.sql.sqltypes import AutoString

from services.alerts.database import Base
from shared.catalogue.alerts import AlertKind
from shared.db import UTCDateTime

AlertStatus = Literal["open", "suppressed", "resolved"]


class Alert(Base, table=True):
    """One open alert per kind and subject: repeats of the same event count as occurrences.
    `group_key` (the business, banquet or complaint it is about) groups related alerts."""

    __tablename__ = "alerts"
    audit_entity: ClassVar[str] = "alert"
    __table_args__ = (sa.Index("ix_alerts_kind_subject_status", "kind", "subject", "status"),)

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str | None = SQLField(default=None, max_length=40, index=True)
    village_id: str | None = SQLField(default=None, max_length=40)
    kind: AlertKind = SQLField(sa_type=AutoString(length=40))
    subject: str = SQLField(max_length=120)
    group_key: str = SQLField(max_length=120, index=True)
    business_id: uuid.UUID | None = SQLField(default=None, index=True)
    banquet_id: uuid.UUID | None = SQLField(default=None, index=True)
    summary: str = SQLField(max_length=500)
    status: AlertStatus = SQLField(default="open", sa_type=AutoString(length=12), index=True)
    suppressed_by_incident: uuid.UUID | None = None
    occurrences: int = 1
    source_event_id: uuid.UUID
    first_seen_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    last_seen_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    resolved_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    resolved_by: str | None = SQLField(default=None, max_length=120)


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    township_id: str | None
    village_id: str | None
    kind: AlertKind
    subject: str
    group_key: str
    business_id: uuid.UUID | None
    banquet_id: uuid.UUID | None
    summary: str
    status: AlertStatus
    suppressed_by_incident: uuid.UUID | None
    occurrences: int
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None


class AlertGroup(BaseModel):
    group_key: str
    township_id: str | None
    alerts: int
    occurrences: int
    kinds: list[str]
    last_seen_at: datetime


class Resolve(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(default=None, max_length=2000)
