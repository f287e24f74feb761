"""Writing the timeline of an incident (every step, in the transaction that took it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.alerts.incidents.models import Incident, TimelineEntry
from shared import changes
from shared.catalogue.alerts import AlertAcknowledged, AlertEscalated, IncidentAcknowledged, IncidentEscalated
from shared.events import EventPayload

DEPRECATED_NAMES: dict[type[EventPayload], type[EventPayload]] = {
    IncidentAcknowledged: AlertAcknowledged,
    IncidentEscalated: AlertEscalated,
}
"""Events published under their old name too for this release (the catalogue says which is
deprecated), so a consumer still reading the old name misses nothing; the old one goes first."""


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
    payloads: list[EventPayload] = []
    if event is not None:
        old_name = DEPRECATED_NAMES.get(type(event))
        if old_name is not None:
            payloads.append(old_name.model_validate(event.model_dump()))
        payloads.append(event)
    first = payloads[0] if payloads else None
    if first is not None or audit_action is not None:
        changes.record(
            session,
            incident,
            actor=actor,
            action=audit_action,
            detail=audit_detail,
            event=first,
            correlation_id=incident.id,
            occurred_at=at,
        )
    for payload in payloads[1:]:
        changes.record(
            session, incident, actor=actor, event=payload, correlation_id=incident.id, occurred_at=at
        )


def seconds_since(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round((now - moment).total_seconds(), 3)
