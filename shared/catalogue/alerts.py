"""Events the alerts service publishes on its stream.

The fields of the first five events are agreed with the other services; later fields are optional
so that a consumer built against the first contract still parses them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from shared.events import EventPayload

IncidentLevel = Literal["I", "II", "III", "IV", "below_IV"]
IncidentStatus = Literal["reported", "acknowledged", "responding", "contained", "closed"]

LEVEL_ORDER: dict[str, int] = {"I": 1, "II": 2, "III": 3, "IV": 4, "below_IV": 5}
"""Most severe first: sort by it, and compare with it (a smaller number is a graver incident)."""

LEVEL_LABELS: dict[str, str] = {
    "I": "Ⅰ级（特别重大）",
    "II": "Ⅱ级（重大）",
    "III": "Ⅲ级（较大）",
    "IV": "Ⅳ级（一般）",
    "below_IV": "Ⅳ级以下",
}
"""How a level is written to people, in notifications and reports alike: the Roman numerals and
full-width brackets of the official documents."""
AlertKind = Literal[
    "stop_operating",
    "rectification_overdue",
    "certificate_expired",
    "licence_expired",
    "banquet_late",
    "banquet_guidance_due",
    "complaint_deadline_missed",
    "notification_undeliverable",
]


class IncidentReported(EventPayload):
    """A food-safety incident was reported and classified; escalation starts from here."""

    TYPE = "incident.reported"
    PRODUCER = "alerts"

    incident_id: uuid.UUID
    village_id: str | None = None
    business_id: uuid.UUID | None = None
    place_kind: str
    ill_count: int
    death_count: int
    level: IncidentLevel
    reported_at: datetime
    description: str
    hospitalised_count: int | None = None
    banquet_id: uuid.UUID | None = None
    onset_at: datetime | None = None
    suspected_food: str | None = None
    seconds_since_onset: float | None = None


class IncidentLevelChanged(EventPayload):
    """Updated counts reclassified an incident; a higher level re-escalates."""

    TYPE = "incident.level_changed"
    PRODUCER = "alerts"

    incident_id: uuid.UUID
    previous_level: IncidentLevel
    level: IncidentLevel
    ill_count: int
    death_count: int
    seconds_since_onset: float | None = None
    hospitalised_count: int | None = None


class _Escalated(EventPayload):
    """The fields of an escalation step, under either name."""

    incident_id: uuid.UUID
    level: IncidentLevel
    step: int
    step_name: str
    targets: list[str]
    reason: str
    seconds_since_onset: float | None = None
    tier: str | None = None
    seconds_since_report: float | None = None
    deadline_at: datetime | None = None  # when the step's acknowledgement is due, if it has one


class IncidentEscalated(_Escalated):
    """An escalation step notified its targets (at once, or because a deadline passed)."""

    TYPE = "incident.escalated"
    PRODUCER = "alerts"


class AlertEscalated(_Escalated):
    """Deprecated in favour of `incident.escalated` (the same fields; it is about an incident, not
    an alert): both are published for this release, then this name is retired."""

    TYPE = "alert.escalated"
    PRODUCER = "alerts"


class _Acknowledged(EventPayload):
    """The fields of an acknowledgement, under either name."""

    incident_id: uuid.UUID
    acknowledged_by: str
    seconds_since_onset: float | None = None
    seconds_since_report: float
    level: IncidentLevel | None = None


class IncidentAcknowledged(_Acknowledged):
    """Someone took responsibility for an incident; escalation stops while progress follows."""

    TYPE = "incident.acknowledged"
    PRODUCER = "alerts"


class AlertAcknowledged(_Acknowledged):
    """Deprecated in favour of `incident.acknowledged` (the same fields; it is about an incident,
    not an alert): both are published for this release, then this name is retired."""

    TYPE = "alert.acknowledged"
    PRODUCER = "alerts"


class IncidentClosed(EventPayload):
    """An incident was closed with its cause."""

    TYPE = "incident.closed"
    PRODUCER = "alerts"

    incident_id: uuid.UUID
    cause: str
    seconds_since_onset: float | None = None
    seconds_since_report: float
    level: IncidentLevel | None = None
    ill_count: int | None = None
    hospitalised_count: int | None = None
    death_count: int | None = None


class IncidentProgressed(EventPayload):
    """An incident moved on in its lifecycle (responding, contained), or its acknowledgement
    lapsed because no progress followed it (back to reported)."""

    TYPE = "incident.progressed"
    PRODUCER = "alerts"

    incident_id: uuid.UUID
    previous_status: IncidentStatus
    status: IncidentStatus
    seconds_since_onset: float | None = None
    seconds_since_report: float


class IncidentCountsUpdated(EventPayload):
    """The counts of an incident were corrected or grew (a level change comes as its own event)."""

    TYPE = "incident.counts_updated"
    PRODUCER = "alerts"

    incident_id: uuid.UUID
    level: IncidentLevel
    ill_count: int
    hospitalised_count: int
    death_count: int
    report_count: int
    seconds_since_onset: float | None = None


class AlertRaised(EventPayload):
    """Another service's event needs a township's attention (an alert short of an incident).

    Raised once per subject and kind while open; repeats are counted, not re-raised. An alert
    that an open incident about the same business or banquet explains is raised as suppressed."""

    TYPE = "alert.raised"
    PRODUCER = "alerts"

    alert_id: uuid.UUID
    kind: AlertKind
    subject: str  # e.g. "business:<uuid>", "banquet:<uuid>", "complaint:<uuid>"
    business_id: uuid.UUID | None = None
    summary: str
    source_event_id: uuid.UUID
    suppressed_by_incident: uuid.UUID | None = None


class EscalationPolicyUpdated(EventPayload):
    """A county set its default escalation chain, or a township's own (scope_id names which)."""

    TYPE = "escalation.policy_updated"
    PRODUCER = "alerts"

    scope_id: str
    steps: list[dict[str, object]]
    version: int


class AlertResolved(EventPayload):
    """A township closed an alert raised from another service's event."""

    TYPE = "alert.resolved"
    PRODUCER = "alerts"

    alert_id: uuid.UUID
    kind: AlertKind
    subject: str
    note: str | None = None
    occurrences: int
