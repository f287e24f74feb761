"""The expiry facts already announced: one row per (subject, expiry date, kind of notice).

The row is written in the same transaction as the event it announces, and its primary key makes a
second announcement impossible: a re-run, a restart or a second replica scanning at the same time
finds the row (or fails on the key and rolls back) and emits nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.registry.database import Base
from shared.db import UTCDateTime, utcnow

NoticeKind = Literal["expiring", "expired"]
SubjectKind = Literal["certificate", "business_licence", "food_permit"]


class ExpiryNotice(Base, table=True):
    __tablename__ = "expiry_notices"

    subject_id: str = SQLField(primary_key=True, max_length=36)
    expires_on: date = SQLField(primary_key=True)
    notice: NoticeKind = SQLField(primary_key=True, max_length=16, sa_type=sa.String(16))
    subject_kind: SubjectKind = SQLField(max_length=20, sa_type=sa.String(20))
    event_id: str = SQLField(max_length=36)
    emitted_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
