"""Escalation policies (who is told, in which order, how fast they must acknowledge) and the
durable timers that drive them."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import JSON, Column
from sqlmodel import Field as SQLField

from services.alerts.database import Base
from services.alerts.rules.acknowledgement import TIER_ORDER
from shared.catalogue.alerts import IncidentLevel
from shared.clock import to_local
from shared.db import UTCDateTime, utcnow

ISO_WEEK = (1, 2, 3, 4, 5, 6, 7)


class Condition(BaseModel):
    """A weekly window in local time (Asia/Shanghai): working hours, nights, weekends.

    `start` > `end` wraps past midnight (18:00-08:00); `outside` turns the window inside out."""

    model_config = ConfigDict(extra="forbid")

    days: list[int] = Field(default_factory=lambda: list(ISO_WEEK), description="ISO weekdays, 1 = Monday")
    start: time = time(0, 0)
    end: time = time(23, 59, 59, 999999)
    outside: bool = False

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: list[int]) -> list[int]:
        if not days or any(day not in ISO_WEEK for day in days):
            raise ValueError("days are ISO weekdays 1 (Monday) to 7 (Sunday), at least one")
        return sorted(set(days))

    def next_opening(self, moment: datetime, *, horizon: timedelta = timedelta(days=8)) -> datetime | None:
        """The first minute from `moment` on inside the window (None if it never opens)."""
        candidate = moment.replace(second=0, microsecond=0)
        if candidate < moment:
            candidate += timedelta(minutes=1)
        end = moment + horizon
        while candidate <= end:
            if self.applies(candidate):
                return candidate
            candidate += timedelta(minutes=1)
        return None

    def applies(self, moment: datetime) -> bool:
        local = to_local(moment)
        clock = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            inside = local.isoweekday() in self.days and self.start <= clock < self.end
        elif clock >= self.start:  # the evening part of a window that wraps past midnight
            inside = local.isoweekday() in self.days
        else:  # the morning part belongs to the window that opened the day before
            inside = clock < self.end and ((local.isoweekday() - 2) % 7 + 1) in self.days
        return inside != self.outside


class Target(BaseModel):
    """Who a step notifies: `role:township_office`, `person:<id>`, `phone:+86...`. A target with a
    condition is an on-duty rota entry: notified only inside its window."""

    model_config = ConfigDict(extra="forbid")

    ref: str = Field(min_length=3, max_length=120, pattern=r"^[a-z_]+:\S+$")
    when: Condition | None = None


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    tier: str = Field(min_length=1, max_length=20, description="village, township, county, city, province")
    targets: list[Target] = Field(min_length=1, max_length=50)
    channels: list[str] | None = Field(default=None, description="Notification channels; None: the defaults")
    deadline_minutes: dict[IncidentLevel, int] | None = Field(
        default=None, description="Acknowledgement deadline per level; None: the rule table's"
    )
    repeat: int = Field(
        default=0, ge=0, le=10, description="Times to notify this step again before moving on"
    )
    when: Condition | None = Field(default=None, description="The step applies only inside this window")
    office_hours: Condition | None = Field(
        default=None,
        description="Below IV only: this step's reminders wait for this window (level I-IV never wait)",
    )

    @field_validator("deadline_minutes")
    @classmethod
    def _positive(cls, minutes: dict[str, int] | None) -> dict[str, int] | None:
        if minutes is not None and any(value < 1 or value > 7 * 24 * 60 for value in minutes.values()):
            raise ValueError("deadlines are 1 minute to 7 days")
        return minutes

    @field_validator("tier")
    @classmethod
    def _known_tier(cls, tier: str) -> str:
        if tier not in TIER_ORDER:
            raise ValueError(f"tier is one of {', '.join(TIER_ORDER)}")
        return tier


class PolicyBody(BaseModel):
    """An ordered chain of steps, from the lowest tier up."""

    model_config = ConfigDict(extra="forbid")

    steps: list[Step] = Field(min_length=1, max_length=20)

    @field_validator("steps")
    @classmethod
    def _tiers_ascend(cls, steps: list[Step]) -> list[Step]:
        ranks = [TIER_ORDER[step.tier] for step in steps]
        if ranks != sorted(ranks):
            raise ValueError("steps go up the hierarchy: village, township, county, city, province")
        return steps


class EscalationPolicy(Base, table=True):
    """A county's default chain (scope = county id) or a township's own (scope = township id)."""

    __tablename__ = "escalation_policies"
    audit_entity: ClassVar[str] = "escalation_policy"

    scope_id: str = SQLField(primary_key=True, max_length=40)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str | None = SQLField(default=None, max_length=40)
    steps: list[dict[str, Any]] = SQLField(sa_column=Column(JSON, nullable=False))
    version: int = 1
    updated_by: str = SQLField(max_length=120)
    updated_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))

    @property
    def id(self) -> str:
        """The scope is the policy's identity (in the audit log too)."""
        return self.scope_id


class PolicyRead(BaseModel):
    scope_id: str
    county_id: str
    township_id: str | None
    source: str = Field(description="township, county, or rule_table (no policy saved)")
    steps: list[Step]
    version: int | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None


class EscalationTimer(Base, table=True):
    """A durable timer: a row with a due time, fired (claimed) exactly once by the scheduler or
    cancelled by an acknowledgement. At most one is live per incident."""

    __tablename__ = "escalation_timers"
    __table_args__ = (sa.Index("ix_timers_live_due", "fired_at", "cancelled_at", "due_at"),)

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    incident_id: uuid.UUID = SQLField(foreign_key="incidents.id", index=True)
    kind: str = SQLField(max_length=24)  # ack_deadline | ack_progress
    step: int
    due_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    fired_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
    cancelled_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime, nullable=True))
