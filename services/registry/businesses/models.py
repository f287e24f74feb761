"""Food businesses in the register, their licences and their grade history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal, Self

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.registry.database import Base
from shared.catalogue.inspection import Action, DynamicGrade, Outcome
from shared.catalogue.registry import BusinessStatus, LicenceKind, RiskLevel
from shared.dates import Day
from shared.db import UTCDateTime, utcnow

BusinessKind = Literal[
    "catering",
    "workshop",
    "school_canteen",
    "central_kitchen",
    "school_area_shop",
    "street_vendor",
    "market",
    "grocery",
    "slaughterhouse",
    "producer",
    "other",
]
LicenceState = Literal["valid", "expiring", "expired", "missing"]
SortKey = Literal[
    "name", "-name", "registered_on", "-registered_on", "risk_level", "-risk_level", "kind", "-kind"
]


class Business(Base, table=True):
    __tablename__ = "businesses"
    audit_entity: ClassVar[str] = "business"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    village_id: str | None = SQLField(default=None, foreign_key="places.id", index=True)
    name: str = SQLField(max_length=200, index=True)
    kind: BusinessKind = SQLField(max_length=40, index=True, sa_type=sa.String(40))
    operator: str | None = SQLField(default=None, max_length=120)
    address: str | None = SQLField(default=None, max_length=300)
    latitude: float | None = None
    longitude: float | None = None
    risk_level: RiskLevel = SQLField(max_length=1, index=True, sa_type=sa.String(1))
    status: BusinessStatus = SQLField(default="active", max_length=16, index=True, sa_type=sa.String(16))
    under_investigation: bool = SQLField(default=False, sa_column_kwargs={"server_default": sa.false()})
    registered_on: date
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    created_by: str = SQLField(max_length=120)


class Licence(Base, table=True):
    """A business licence (营业执照) or food operating permit (食品经营许可证); one of each kind per
    business, renewed in place. The number is unique per kind in the county."""

    __tablename__ = "licences"
    __table_args__ = (
        sa.UniqueConstraint("business_id", "kind", name="uq_licences_business_kind"),
        sa.UniqueConstraint("county_id", "kind", "number", name="uq_licences_county_number"),
    )

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    business_id: uuid.UUID = SQLField(foreign_key="businesses.id", index=True)
    county_id: str = SQLField(max_length=40)
    kind: LicenceKind = SQLField(max_length=20, sa_type=sa.String(20))
    number: str = SQLField(max_length=60)
    issued_on: date
    expires_on: date = SQLField(index=True)


class GradeRecord(Base, table=True):
    """One inspection's dynamic grade (量化分级动态等级), as the inspection service reported it."""

    __tablename__ = "grade_history"

    id: int | None = SQLField(default=None, primary_key=True)
    business_id: uuid.UUID = SQLField(foreign_key="businesses.id", index=True)
    inspection_id: uuid.UUID = SQLField(unique=True)
    inspected_on: date
    kind: str = SQLField(max_length=40)
    outcome: Outcome = SQLField(max_length=30, sa_type=sa.String(30))
    action: Action = SQLField(max_length=30, sa_type=sa.String(30))
    score: float
    dynamic_grade: DynamicGrade | None = SQLField(default=None, max_length=16, sa_type=sa.String(16))
    inspector: str = SQLField(max_length=120)
    recorded_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class LicenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    number: str = Field(min_length=1, max_length=60, pattern=r"^[0-9A-Za-z\-\u4e00-\u9fff()（）]+$")
    issued_on: Day
    expires_on: Day

    @field_validator("expires_on")
    @classmethod
    def _after_issue(cls, value: date, info: ValidationInfo) -> date:
        issued = info.data.get("issued_on")
        if issued is not None and value < issued:
            raise ValueError("expiry cannot be before the issue date")
        return value


class GeoPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class BusinessCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, description="Registered name, e.g. 青云镇好味餐馆")
    kind: BusinessKind
    village_id: str = Field(min_length=1, max_length=40, description="The village the business is in")
    operator: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=300)
    registered_on: Day | None = Field(default=None, description="Defaults to today (Asia/Shanghai)")
    location: GeoPoint | None = Field(default=None, description="GPS point (WGS-84), optional")
    business_licence: LicenceIn | None = None
    food_permit: LicenceIn | None = None

    def licences(self) -> dict[LicenceKind, LicenceIn]:
        given: dict[LicenceKind, LicenceIn | None] = {
            "business_licence": self.business_licence,
            "food_permit": self.food_permit,
        }
        return {kind: licence for kind, licence in given.items() if licence is not None}


class BusinessUpdate(BaseModel):
    """The particulars a township may correct; absent fields are left as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: BusinessKind | None = None
    village_id: str | None = Field(default=None, min_length=1, max_length=40)
    operator: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=300)
    location: GeoPoint | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        for name in ("name", "kind", "village_id"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be removed")
        return self


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: BusinessStatus
    reason: str = Field(min_length=1, max_length=500)


class InvestigationDecision(BaseModel):
    """The township's decision on a business under investigation after an incident."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Literal["reactivate", "close"]
    reason: str = Field(min_length=1, max_length=500)


class LicenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: LicenceKind
    number: str
    issued_on: date
    expires_on: date


class BusinessRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    county_id: str
    township_id: str
    village_id: str | None
    name: str
    kind: BusinessKind
    operator: str | None
    address: str | None
    latitude: float | None = None
    longitude: float | None = None
    risk_level: RiskLevel
    status: BusinessStatus
    under_investigation: bool = False
    registered_on: date
    created_at: datetime
    licences: list[LicenceRead] = Field(default_factory=list)


class GradeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    inspection_id: uuid.UUID
    inspected_on: date
    kind: str
    outcome: str
    action: str
    score: float
    dynamic_grade: DynamicGrade | None


class BusinessFilter(BaseModel):
    """Search over the register: filters combine with AND; `text` matches name, operator, address
    or a licence number (Chinese included)."""

    kind: BusinessKind | None = None
    village_id: str | None = None
    status: BusinessStatus | None = None
    risk_level: RiskLevel | None = None
    licence_state: LicenceState | None = None
    text: str | None = None
    sort: SortKey = "name"
