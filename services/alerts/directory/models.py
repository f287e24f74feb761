"""The businesses (and banquets) the alerts service knows of, projected from the registry's events: enough to
check a business named in a report and to place an alert raised about it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.alerts.database import Base
from shared.db import UTCDateTime


class KnownBusiness(Base, table=True):
    __tablename__ = "business_directory"

    business_id: uuid.UUID = SQLField(primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str | None = SQLField(default=None, max_length=40, index=True)
    village_id: str | None = SQLField(default=None, max_length=40)
    name: str = SQLField(max_length=200)
    kind: str = SQLField(max_length=40)
    status: str = SQLField(max_length=16)
    updated_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class KnownBanquet(Base, table=True):
    """The banquets filed in the registry (from `banquet.filed`): where each was held, so a report
    naming a banquet is checked against the reporter's place like one naming a business."""

    __tablename__ = "banquet_directory"

    banquet_id: uuid.UUID = SQLField(primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str | None = SQLField(default=None, max_length=40)
    village_id: str = SQLField(max_length=40)
    updated_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
