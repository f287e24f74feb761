"""Reading incidents, always inside the caller's place."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.alerts.escalation.models import EscalationTimer
from services.alerts.incidents.lifecycle import OPEN_STATUSES
from services.alerts.incidents.models import Incident, IncidentReport, TimelineEntry
from shared.auth import Principal, load_in_scope
from shared.catalogue.alerts import LEVEL_ORDER


def get(*, session: Session, principal: Principal, incident_id: uuid.UUID) -> Incident:
    return load_in_scope(session, principal, Incident, incident_id)


def list_incidents(
    *,
    session: Session,
    principal: Principal,
    offset: int,
    limit: int,
    state: str = "open",
    level: str | None = None,
    township_id: str | None = None,
) -> tuple[list[Incident], int]:
    """The responders' view: the most severe first, then the oldest (the longest waiting) first;
    one page of it, and how many there are in all."""
    conditions = [principal.scope(Incident)]
    if state == "open":
        conditions.append(col(Incident.status).in_(OPEN_STATUSES))
    elif state == "closed":
        conditions.append(col(Incident.status) == "closed")
    if level:
        conditions.append(col(Incident.level) == level)
    if township_id:
        conditions.append(col(Incident.township_id) == township_id)
    total = session.exec(select(sa.func.count()).select_from(Incident).where(*conditions)).one()
    severity = sa.case(LEVEL_ORDER, value=Incident.level, else_=9)
    query = (
        select(Incident)
        .where(*conditions)
        .order_by(severity, col(Incident.reported_at))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(query).all()), int(total)


def timeline_of(*, session: Session, principal: Principal, incident_id: uuid.UUID) -> list[TimelineEntry]:
    incident = get(session=session, principal=principal, incident_id=incident_id)
    return list(
        session.exec(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id)
            .order_by(col(TimelineEntry.id))
        ).all()
    )


def reports_of(*, session: Session, principal: Principal, incident_id: uuid.UUID) -> list[IncidentReport]:
    incident = get(session=session, principal=principal, incident_id=incident_id)
    return list(
        session.exec(
            select(IncidentReport)
            .where(IncidentReport.incident_id == incident.id)
            .order_by(col(IncidentReport.reported_at))
        ).all()
    )


def live_timers(session: Session, incident_ids: list[uuid.UUID]) -> dict[uuid.UUID, EscalationTimer]:
    """The running escalation timer of each incident (at most one is live per incident), in one
    query, so that a responder's list shows every next deadline without a call per incident."""
    if not incident_ids:
        return {}
    rows = session.exec(
        select(EscalationTimer).where(
            col(EscalationTimer.incident_id).in_(incident_ids),
            col(EscalationTimer.fired_at).is_(None),
            col(EscalationTimer.cancelled_at).is_(None),
        )
    ).all()
    return {row.incident_id: row for row in rows}
