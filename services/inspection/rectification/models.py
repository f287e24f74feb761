"""Rectification orders (限期整改通知) and police referrals (移送公安机关)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import JSON, AutoString, Column
from sqlmodel import Field as SQLField

from services.inspection.database import Base
from shared.catalogue.inspection import Severity
from shared.db import UTCDateTime, utcnow

OrderStatus = Literal["open", "verified"]


class RectificationOrder(Base, table=True):
    """One failed item of one inspection, to be put right by the deadline. The deadline and the
    two notices (overdue, escalated) are rows, so a restart neither loses nor repeats them."""

    __tablename__ = "rectification_orders"
    audit_entity: ClassVar[str] = "rectification_order"
    __table_args__ = (sa.Index("ix_orders_open_item", "business_id", "item_code", "status"),)

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    business_id: uuid.UUID
    inspection_id: uuid.UUID = SQLField(foreign_key="inspections.id", index=True)
    item_code: str = SQLField(max_length=20)
    item_text: str = SQLField(max_length=500)
    severity: Severity = SQLField(max_length=12, sa_type=AutoString(length=12))
    ordered_on: date
    deadline: date = SQLField(index=True)
    status: OrderStatus = SQLField(default="open", max_length=12, index=True, sa_type=AutoString(length=12))
    overdue_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    escalated_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    verified_on: date | None = None
    verified_by_inspection: uuid.UUID | None = None
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Referral(Base, table=True):
    """A case referred to the police, with the evidence taken from the inspection."""

    __tablename__ = "referrals"
    audit_entity: ClassVar[str] = "referral"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    business_id: uuid.UUID
    inspection_id: uuid.UUID = SQLField(foreign_key="inspections.id", index=True)
    reason: str = SQLField(max_length=2000)
    item_codes: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    attachment_ids: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    referred_by: str = SQLField(max_length=120)
    referred_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    township_id: str
    business_id: uuid.UUID
    inspection_id: uuid.UUID
    item_code: str
    item_text: str
    severity: str
    ordered_on: date
    deadline: date
    status: OrderStatus
    overdue: bool = False
    escalated: bool = False
    verified_on: date | None
    verified_by_inspection: uuid.UUID | None


class ReferralCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    item_codes: list[str] | None = Field(
        default=None, description="Evidence items; default: every failed item of the inspection"
    )


class ReferralRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    township_id: str
    business_id: uuid.UUID
    inspection_id: uuid.UUID
    reason: str
    item_codes: list[str]
    attachment_ids: list[uuid.UUID]
    referred_by: str
    referred_at: datetime
