"""Notifications waiting for or done with delivery, and every delivery attempt."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlmodel import JSON, Column
from sqlmodel import Field as SQLField

from services.alerts.database import Base
from shared.db import UTCDateTime


class Notification(Base, table=True):
    """One message to one target on one channel. Written in the transaction that decided to notify
    (like an outbox row), delivered afterwards by the notification loop, so no HTTP call ever runs
    inside a database transaction and a crash never loses a message (it may repeat one: the
    notification id travels with it as the receiver's de-duplication key)."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_status_lease", "status", "lease_until"),)

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str | None = SQLField(default=None, max_length=40, index=True)
    incident_id: uuid.UUID | None = SQLField(default=None, index=True)
    alert_id: uuid.UUID | None = SQLField(default=None, index=True)
    step: int | None = None
    tier: str | None = SQLField(default=None, max_length=20)
    channel: str = SQLField(max_length=40)
    target: str = SQLField(max_length=120)
    text: str = SQLField(max_length=2000)
    payload: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = SQLField(default="pending", max_length=12)  # pending | delivered | failed
    attempts: int = 0
    created_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    lease_until: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    finished_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    last_error: str | None = SQLField(default=None, max_length=1000)


class NotificationAttempt(Base, table=True):
    __tablename__ = "notification_attempts"

    id: int | None = SQLField(default=None, primary_key=True)
    notification_id: uuid.UUID = SQLField(foreign_key="notifications.id", index=True)
    number: int
    at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    channel: str = SQLField(max_length=40)
    ok: bool
    status_code: int | None = None
    error: str | None = SQLField(default=None, max_length=1000)
    duration_ms: float


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    incident_id: uuid.UUID | None
    alert_id: uuid.UUID | None
    step: int | None
    tier: str | None
    channel: str
    target: str
    text: str
    status: str
    attempts: int
    created_at: datetime
    finished_at: datetime | None
    last_error: str | None
    attempt_log: list[AttemptRead] = []
