"""Target-responsibility letters (目标责任书): township <-> village, township <-> business."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.registry.database import Base
from shared.dates import Day
from shared.db import UTCDateTime, utcnow

PartyKind = Literal["village", "business"]


class ResponsibilityLetter(Base, table=True):
    __tablename__ = "responsibility_letters"
    __table_args__ = (
        sa.UniqueConstraint("township_id", "party_kind", "party_id", "year", name="uq_letters_party_year"),
    )
    audit_entity: ClassVar[str] = "letter"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    village_id: str | None = SQLField(default=None, max_length=40, index=True)
    party_kind: PartyKind = SQLField(max_length=16, sa_type=sa.String(16))
    party_id: str = SQLField(max_length=40)
    business_id: uuid.UUID | None = SQLField(default=None, foreign_key="businesses.id")
    year: int = SQLField(index=True)
    signed_on: date
    signatory: str | None = SQLField(default=None, max_length=120)
    created_by: str = SQLField(max_length=120)
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class LetterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    party_kind: PartyKind
    village_id: str | None = Field(default=None, min_length=1, max_length=40)
    business_id: uuid.UUID | None = None
    year: int = Field(ge=2000, le=2100, description="The year the targets are for")
    signed_on: Day
    signatory: str | None = Field(default=None, max_length=120, description="Who signed for the other party")


class LetterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    county_id: str
    township_id: str
    village_id: str | None
    party_kind: PartyKind
    business_id: uuid.UUID | None
    year: int
    signed_on: date
    signatory: str | None
