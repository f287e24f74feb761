"""The business directory: inspection's projection of the registry's businesses."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.inspection.database import Base
from shared.db import UTCDateTime, utcnow


class DirectoryBusiness(Base, table=True):
    __tablename__ = "business_directory"

    id: uuid.UUID = SQLField(primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    village_id: str | None = SQLField(default=None, max_length=40, index=True)
    name: str = SQLField(max_length=200)
    kind: str = SQLField(max_length=40, index=True)
    risk_level: str = SQLField(max_length=1)
    status: str = SQLField(max_length=16)
    registered_on: date
    # facts the grade blackouts need: the newest food operating permit, the last incident caused
    permit_number: str | None = SQLField(default=None, max_length=60)
    licensed_on: date | None = None
    last_incident_on: date | None = None
    updated_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class DirectoryBusinessRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    county_id: str
    township_id: str
    village_id: str | None
    name: str
    kind: str
    risk_level: str
    status: str
    registered_on: date
    licensed_on: date | None = None
    last_incident_on: date | None = None
