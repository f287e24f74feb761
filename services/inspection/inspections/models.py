"""Inspections with their item results and photos: tables and the shapes the API speaks."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import JSON, AutoString, Column
from sqlmodel import Field as SQLField

from services.inspection.database import Base
from shared.catalogue.inspection import Action, DynamicGrade, Outcome
from shared.dates import Moment
from shared.db import UTCDateTime, utcnow

InspectionKind = Literal[
    "routine", "campaign", "complaint_followup", "reinspection", "school", "holiday", "joint"
]
Result = Literal["pass", "fail", "not_applicable"]


class Inspection(Base, table=True):
    __tablename__ = "inspections"
    audit_entity: ClassVar[str] = "inspection"
    __table_args__ = (sa.Index("ix_inspections_business_day", "business_id", "inspected_on"),)

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    village_id: str | None = SQLField(default=None, max_length=40)
    business_id: uuid.UUID
    kind: InspectionKind = SQLField(max_length=24, sa_type=AutoString(length=24))
    inspected_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    inspected_on: date = SQLField(index=True)  # the local (Asia/Shanghai) day
    inspectors: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    recorded_by: str = SQLField(max_length=120)
    checklist_kind: str = SQLField(max_length=24)
    checklist_version: int
    outcome: Outcome = SQLField(max_length=24, sa_type=AutoString(length=24))
    action: Action = SQLField(max_length=24, sa_type=AutoString(length=24))
    score: float
    dynamic_grade: DynamicGrade | None = SQLField(default=None, max_length=12, sa_type=AutoString(length=12))
    grade_withheld: str | None = SQLField(default=None, max_length=24)
    notes: str | None = SQLField(default=None, max_length=4000)
    campaign_id: uuid.UUID | None = SQLField(default=None, index=True)
    complaint_id: uuid.UUID | None = SQLField(default=None)
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class InspectionItem(Base, table=True):
    __tablename__ = "inspection_items"

    id: int | None = SQLField(default=None, primary_key=True)
    inspection_id: uuid.UUID = SQLField(foreign_key="inspections.id", index=True)
    code: str = SQLField(max_length=20)
    key: bool
    result: str = SQLField(max_length=16)
    note: str | None = SQLField(default=None, max_length=500)


class Attachment(Base, table=True):
    """A photo (or other evidence file) of an inspection; the bytes live in the attachment store."""

    __tablename__ = "attachments"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    inspection_id: uuid.UUID = SQLField(foreign_key="inspections.id", index=True)
    county_id: str = SQLField(max_length=40)
    township_id: str = SQLField(max_length=40)
    filename: str = SQLField(max_length=200)
    content_type: str = SQLField(max_length=100)
    size: int
    sha256: str = SQLField(max_length=64)
    storage_key: str = SQLField(max_length=300)
    uploaded_by: str = SQLField(max_length=120)
    uploaded_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


# ---- API shapes -------------------------------------------------------------------------------


class ItemResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=20)
    result: Result
    note: str | None = Field(default=None, max_length=500)


class InspectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    business_id: uuid.UUID
    kind: InspectionKind
    inspected_at: Moment | None = Field(default=None, description="Default: now")
    inspectors: list[str] = Field(min_length=1, max_length=10, description="Names of the inspectors present")
    items: list[ItemResultIn] = Field(min_length=1, max_length=500)
    notes: str | None = Field(default=None, max_length=4000)
    checklist_version: int | None = Field(default=None, ge=1, description="Default: the version in force")
    campaign_id: uuid.UUID | None = None
    complaint_id: uuid.UUID | None = None

    @field_validator("inspectors")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        names = [name.strip() for name in value]
        if any(not name or len(name) > 60 for name in names):
            raise ValueError("each inspector is a name of 1 to 60 characters")
        return names


class ItemResultRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    key: bool
    result: Result
    note: str | None


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class InspectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    county_id: str
    township_id: str
    village_id: str | None
    business_id: uuid.UUID
    kind: InspectionKind
    inspected_at: datetime
    inspected_on: date
    inspectors: list[str]
    recorded_by: str
    checklist_kind: str
    checklist_version: int
    outcome: str
    action: str
    score: float
    dynamic_grade: str | None
    grade_withheld: str | None
    notes: str | None
    campaign_id: uuid.UUID | None
    complaint_id: uuid.UUID | None
    items: list[ItemResultRead] = Field(default_factory=list)
    attachments: list[AttachmentRead] = Field(default_factory=list)


class InspectionPreview(BaseModel):
    """The verdict `POST /inspections` would give the same request, with nothing written."""

    business_id: uuid.UUID
    checklist_kind: str
    checklist_version: int
    outcome: str
    action: str
    score: float
    dynamic_grade: str | None
    grade_withheld: str | None
    failed_items: list[str]
    failed_key_items: list[str]
