"""Food handlers of a business and their health certificates (健康证)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.registry.database import Base
from shared.dates import Day
from shared.db import UTCDateTime, utcnow

CertificateState = Literal["valid", "expiring", "expired", "missing"]


class Staff(Base, table=True):
    __tablename__ = "staff"
    audit_entity: ClassVar[str] = "staff"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    business_id: uuid.UUID = SQLField(foreign_key="businesses.id", index=True)
    county_id: str = SQLField(max_length=40)
    township_id: str = SQLField(max_length=40, index=True)
    name: str = SQLField(max_length=120)
    position: str | None = SQLField(default=None, max_length=80)
    active: bool = True
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class HealthCertificate(Base, table=True):
    """One certificate; a renewal adds a new row and marks the previous one superseded, so the
    expiry scan looks only at each handler's current certificate."""

    __tablename__ = "health_certificates"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    staff_id: uuid.UUID = SQLField(foreign_key="staff.id", index=True)
    business_id: uuid.UUID = SQLField(foreign_key="businesses.id", index=True)
    county_id: str = SQLField(max_length=40)
    township_id: str = SQLField(max_length=40)
    number: str | None = SQLField(default=None, max_length=60)
    issued_on: date
    expires_on: date = SQLField(index=True)
    superseded: bool = SQLField(default=False, index=True)
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    number: str | None = Field(default=None, min_length=1, max_length=60)
    issued_on: Day
    expires_on: Day | None = Field(
        default=None, description="Defaults to the end of the legal validity (1 year)"
    )

    @field_validator("expires_on")
    @classmethod
    def _after_issue(cls, value: date | None, info: ValidationInfo) -> date | None:
        issued = info.data.get("issued_on")
        if value is not None and issued is not None and value < issued:
            raise ValueError("expiry cannot be before the issue date")
        return value


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    position: str | None = Field(default=None, max_length=80, description="e.g. 厨师, 帮厨, 服务员")
    certificate: CertificateIn | None = None


class StaffUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    position: str | None = Field(default=None, max_length=80)
    active: bool | None = None


class CertificateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    issued_on: date
    expires_on: date


class StaffRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    business_id: uuid.UUID
    name: str
    position: str | None
    active: bool
    certificate: CertificateRead | None = None
    certificate_state: CertificateState = "missing"
