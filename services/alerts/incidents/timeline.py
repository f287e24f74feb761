"""Writing the timeline of an incident (every step, in the transaction that took it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.alerts.incidents.models import Incident, TimelineEntry

LEVEL_LABELS = {
    "I": "I级(特别重大)",
    "II": "II级(重大)",
    "III": "III级(较大)",
    "IV": "IV级(一般)",
    "below_IV": "IV级以下",
}


def add(session: Session, incident: Incident, *, kind: str, actor: str, at: datetime, **detail: Any) -> None:
    session.add(TimelineEntry(incident_id=incident.id, at=at, kind=kind, actor=actor, detail=detail))


def seconds_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round((now - moment).total_seconds(), 3)
