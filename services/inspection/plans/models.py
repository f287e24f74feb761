"""Inspection plans from risk levels, urgent tasks outside the plan, worklists and coverage."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Column
from sqlmodel import Field as SQLField

from services.inspection.database import Base
from shared.db import UTCDateTime, utcnow

PlanState = Literal["complete", "planned", "due", "overdue"]
WorkState = Literal["due", "overdue"]


class InspectionTask(Base, table=True):
    """An inspection to make outside the yearly plan, e.g. at once after an incident."""

    __tablename__ = "inspection_tasks"
    audit_entity: ClassVar[str] = "inspection_task"
    __table_args__ = (sa.UniqueConstraint("incident_id", "business_id", name="uq_task_incident_business"),)

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    county_id: str = SQLField(max_length=40, index=True)
    township_id: str = SQLField(max_length=40, index=True)
    business_id: uuid.UUID = SQLField(index=True)
    reason: str = SQLField(max_length=20)
    urgent: bool = True
    incident_id: uuid.UUID | None = None
    due_on: date
    status: str = SQLField(default="open", max_length=10, index=True)
    done_by_inspection: uuid.UUID | None = None
    created_at: datetime = SQLField(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class PlanLine(BaseModel):
    business_id: uuid.UUID
    name: str
    kind: str
    risk_level: str
    due_this_year: int
    done_this_year: int
    last_inspected_on: date | None
    next_due_by: date | None  # end of the period the next planned inspection belongs to
    state: PlanState


class TownshipPlan(BaseModel):
    township_id: str
    year: int
    on: date
    due_total: int
    done_total: int
    overdue_businesses: int
    lines: list[PlanLine]


class WorkItem(BaseModel):
    what: Literal["urgent_task", "planned_inspection", "reinspection", "complaint_followup"]
    state: WorkState
    business_id: uuid.UUID | None
    business_name: str | None
    due_by: date | None
    reference_id: uuid.UUID | None = None  # task, order or complaint
    detail: str | None = None


class Worklist(BaseModel):
    township_id: str
    inspector: str | None
    on: date
    items: list[WorkItem]


class TownshipCoverage(BaseModel):
    township_id: str
    registered: int
    graded: int
    ratio: float | None  # graded / registered; the seed's target is 1.0


class Coverage(BaseModel):
    on: date
    since: date
    townships: list[TownshipCoverage]
