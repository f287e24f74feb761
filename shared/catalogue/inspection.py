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
    item_codes: list[str] = Field(default_factory=list)  # evidence: the failed items
    attachment_ids: list[uuid.UUID] = Field(default_factory=list)  # evidence: photos


class ComplaintDeadlineMissed(EventPayload):
    """A complaint was not accepted (7 working days) or verified (15) in time (once per deadline)."""

    TYPE = "complaint.deadline_missed"
    PRODUCER = "inspection"

    complaint_id: uuid.UUID
    business_id: uuid.UUID | None = None
    deadline_kind: Literal["accept", "verify"]
    due_on: date


Severity = Literal["general", "key", "critical"]
ComplaintChannel = Literal["phone", "web", "walk_in"]
ComplaintKind = Literal["complaint", "report"]


class RectificationOrdered(EventPayload):
    """A failed checklist item became a written order to rectify it by a deadline."""

    TYPE = "rectification.ordered"
    PRODUCER = "inspection"

    order_id: uuid.UUID
    business_id: uuid.UUID
    inspection_id: uuid.UUID
    item_code: str
    severity: Severity
    deadline: date


class RectificationVerified(EventPayload):
    """A later inspection found the item put right; the order is closed."""

    TYPE = "rectification.verified"
    PRODUCER = "inspection"

    order_id: uuid.UUID
    business_id: uuid.UUID
    inspection_id: uuid.UUID  # the inspection that verified it
    item_code: str
    deadline: date
    verified_on: date
    on_time: bool


class RectificationEscalated(EventPayload):
    """An order left open past the second threshold became more severe (once per order)."""

    TYPE = "rectification.escalated"
    PRODUCER = "inspection"

    order_id: uuid.UUID
    business_id: uuid.UUID
    inspection_id: uuid.UUID
    item_code: str
    previous_severity: Severity
    severity: Severity
    deadline: date


class InspectionTaskOpened(EventPayload):
    """An inspection was put on a township's worklist outside the plan (e.g. after an incident)."""

    TYPE = "inspection.task_opened"
    PRODUCER = "inspection"

    task_id: uuid.UUID
    business_id: uuid.UUID
    reason: Literal["incident"]
    urgent: bool
    due_on: date
    incident_id: uuid.UUID | None = None


class CampaignLaunched(EventPayload):
    """A special or holiday campaign was set, with its focus and target counts per township."""

    TYPE = "campaign.launched"
    PRODUCER = "inspection"

    campaign_id: uuid.UUID
    name: str
    kind: Literal["holiday", "special"]
    holiday: str | None = None
    focus_foods: list[str] = Field(default_factory=list)
    focus_business_kinds: list[str] = Field(default_factory=list)
    starts_on: date
    ends_on: date
    targets: dict[str, int] = Field(default_factory=dict)  # township id -> inspections


class ComplaintReceived(EventPayload):
    """A complaint or report from the public was taken in, with its working-day deadlines."""

    TYPE = "complaint.received"
    PRODUCER = "inspection"

    complaint_id: uuid.UUID
    channel: ComplaintChannel
    kind: ComplaintKind
    business_id: uuid.UUID | None = None
    received_on: date
    accept_due: date
    verify_due: date


class ComplaintAccepted(EventPayload):
    """A complaint was accepted for handling (or refused, with the reason)."""

    TYPE = "complaint.accepted"
    PRODUCER = "inspection"

    complaint_id: uuid.UUID
    accepted: bool
    reason: str | None = None
    decided_on: date
    on_time: bool


class ComplaintAssigned(EventPayload):
    """A complaint was given to an inspector to follow up."""

    TYPE = "complaint.assigned"
    PRODUCER = "inspection"

    complaint_id: uuid.UUID
    assignee: str


class ComplaintFollowedUp(EventPayload):
    """A follow-up inspection was recorded for a complaint (its verification)."""

    TYPE = "complaint.followed_up"
    PRODUCER = "inspection"

    complaint_id: uuid.UUID
    inspection_id: uuid.UUID
    business_id: uuid.UUID
    inspected_on: date
    on_time: bool


class ComplaintClosed(EventPayload):
    """A complaint was closed with its result."""

    TYPE = "complaint.closed"
    PRODUCER = "inspection"

    complaint_id: uuid.UUID
    result: str
    closed_on: date
    in_time: bool
