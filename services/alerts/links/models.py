"""Acknowledgement links: one per message that asks someone to acknowledge an incident."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.alerts.database import Base
from shared.db import UTCDateTime


class AckLink(Base, table=True):
    """Which incident, which step of its chain and which recipient a link stands for. The link's
    token is this row's id and an HMAC over these columns (the key is in the settings, not here),
    so the row alone cannot be turned into a working link; `used_at` makes it single-use."""

    __tablename__ = "ack_links"
    __table_args__ = (sa.Index("ix_ack_links_recipient_used", "recipient", "used_at"),)

    id: str = SQLField(primary_key=True, max_length=24)
    incident_id: uuid.UUID = SQLField(foreign_key="incidents.id", index=True)
    notification_id: uuid.UUID | None = SQLField(default=None, index=True)
    step: int
    recipient: str = SQLField(max_length=120)
    channel: str = SQLField(max_length=40)
    created_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    used_via: str | None = SQLField(default=None, max_length=20)  # link | sms_reply
