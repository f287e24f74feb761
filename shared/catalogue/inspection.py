"""Events the inspection service publishes on its stream."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import Field

from shared.events import EventPayload

Outcome = Literal["compliant", "basically_compliant", "non_compliant"]
Action = Literal["pass", "written_rectification", "stop_operating"]
DynamicGrade = Literal["excellent", "good", "fair"]


class InspectionCompleted(EventPayload):
    """An inspection was recorded, with its outcome, action, score and dynamic grade."""

    TYPE = "inspection.completed"
    PRODUCER = "inspection"

    inspection_id: uuid.UUID
    business_id: uuid.UUID
    kind: str
    inspected_on: date
    outcome: Outcome
    action: Action
    score: float
    dynamic_grade: DynamicGrade | None = None  # None inside a grade blackout
    failed_items: list[str] = Field(default_factory=list)
    inspector: str


class RectificationOverdue(EventPayload):
    """A rectification order passed its deadline without being verified (once per order)."""

    TYPE = "rectification.overdue"
    PRODUCER = "inspection"

    order_id: uuid.UUID
    business_id: uuid.UUID
    inspection_id: uuid.UUID
    item_code: str
    deadline: date
    severity: str


class CaseReferred(EventPayload):
    """A case was referred to the police with its evidence."""

    TYPE = "case.referred"
    PRODUCER = "inspection"

    case_id: uuid.UUID
    business_id: uuid.UUID
    inspection_id: uuid.UUID | None = None
    reason: str


class ComplaintDeadlineMissed(EventPayload):
    """A complaint was not accepted (7 working days) or verified (15) in time (once per deadline)."""

    TYPE = "complaint.deadline_missed"
    PRODUCER = "inspection"

    complaint_id: uuid.UUID
    business_id: uuid.UUID | None = None
    deadline_kind: Literal["accept", "verify"]
    due_on: date
