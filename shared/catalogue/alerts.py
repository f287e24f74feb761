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
