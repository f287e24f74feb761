"""Writing the timeline of an incident (every step, in the transaction that took it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.alerts.incidents.models import Incident, TimelineEntry
from shared import changes
from shared.events import EventPayload

LEVEL_LABELS = {
    "I": "I级(特别重大)",
    "II": "II级(重大)",
    "III": "III级(较大)",
    "IV": "IV级(一般)",
    "below_IV": "IV级以下",
}


def add(session: Session, incident: Incident, *, kind: str, actor: str, at: datetime, **detail: Any) -> None:
    session.add(TimelineEntry(incident_id=incident.id, at=at, kind=kind, actor=actor, detail=detail))


def step(
    session: Session,
    incident: Incident,
    kind: str,
    *,
    actor: str,
    at: datetime,
    event: EventPayload | None = None,
    audit_action: str | None = None,
    audit_detail: dict[str, Any] | None = None,
    **detail: Any,
) -> None:
    """One step of an incident: its timeline entry, and the audit line and event that go with it,
    so that the three never disagree on who did it, when, and where."""
    add(session, incident, kind=kind, actor=actor, at=at, **detail)
    if event is None and audit_action is None:
        return
    changes.record(
        session,
        incident,
        actor=actor,
        action=audit_action,
        detail=audit_detail,
        event=event,
        correlation_id=incident.id,
        occurred_at=at,
    )


def seconds_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round((now - moment).total_seconds(), 3)
