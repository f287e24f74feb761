"""Events the alerts service publishes on its stream."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from shared.events import EventPayload

IncidentLevel = Literal["I", "II", "III", "IV", "below_IV"]


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


class AlertEscalated(EventPayload):
    """An escalation step notified its targets (at once, or because a deadline passed)."""

    TYPE = "alert.escalated"
    PRODUCER = "alerts"

    incident_id: uuid.UUID
    level: IncidentLevel
    step: int
    step_name: str
    targets: list[str]
    reason: str
    seconds_since_onset: float | None = None


class AlertAcknowledged(EventPayload):
    """Someone took responsibility for an incident; escalation stops while progress follows."""

    TYPE = "alert.acknowledged"
    PRODUCER = "alerts"

    incident_id: uuid.UUID
    acknowledged_by: str
    seconds_since_onset: float | None = None
    seconds_since_report: float


class IncidentClosed(EventPayload):
    """An incident was closed with its cause."""

    TYPE = "incident.closed"
    PRODUCER = "alerts"

    incident_id: uuid.UUID
    cause: str
    seconds_since_onset: float | None = None
    seconds_since_report: float
