"""Alerts read models: incidents with their level, counts and response times, and the alerts
raised from other services' events."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Column, Field, Session

from services.reporting.database import Base
from shared.catalogue.alerts import (
    AlertAcknowledged,
    AlertEscalated,
    AlertRaised,
    AlertResolved,
    IncidentClosed,
    IncidentCountsUpdated,
    IncidentLevelChanged,
    IncidentProgressed,
    IncidentReported,
)
from shared.db import UTCDateTime
from shared.events import Envelope
from shared.parking import Unresolved, release
from shared.projection import update, upsert


class ReportIncident(Base, table=True):
    __tablename__ = "report_incidents"

    id: uuid.UUID = Field(primary_key=True)
    county_id: str = Field(max_length=40, index=True)
    township_id: str = Field(max_length=40, index=True)
    village_id: str | None = Field(default=None, max_length=40)
    business_id: uuid.UUID | None = None
    place_kind: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=2000)
    level: str = Field(max_length=10)
    status: str = Field(default="reported", max_length=16)
    ill_count: int
    hospitalised_count: int | None = None
    death_count: int
    reported_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    seconds_to_acknowledge: float | None = None
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    seconds_to_close: float | None = None
    cause: str | None = Field(default=None, max_length=2000)
    escalation_steps: int = 0


class ReportAlert(Base, table=True):
    __tablename__ = "report_alerts"

    id: uuid.UUID = Field(primary_key=True)
    county_id: str = Field(max_length=40)
    township_id: str = Field(max_length=40, index=True)
    kind: str = Field(max_length=40)
    subject: str = Field(max_length=80)
    business_id: uuid.UUID | None = None
    summary: str = Field(max_length=500)
    raised_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))
    suppressed: bool = False
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    occurrences: int | None = None


def on_incident_reported(session: Session, envelope: Envelope, payload: IncidentReported) -> None:
    upsert(
        session,
        ReportIncident.__table__,
        {"id": payload.incident_id},
        {
            "county_id": envelope.county_id,
            "township_id": envelope.township_id or "",
            "village_id": payload.village_id,
            "business_id": payload.business_id,
            "place_kind": payload.place_kind,
            "description": payload.description,
            "level": payload.level,
            "ill_count": payload.ill_count,
            "hospitalised_count": payload.hospitalised_count,
            "death_count": payload.death_count,
            "reported_at": payload.reported_at,
        },
    )
    release(session, "incident", payload.incident_id)


# The events below only change an incident already reported. One that comes first (its
# incident.reported failed once and is retried after it) waits, parked, instead of being lost;
# unmarked (@parks), so the hot path pays no savepoint for what happens rarely.


def _incident_known(session: Session, incident_id: uuid.UUID) -> bool:
    table = ReportIncident.__table__
    return session.execute(sa.select(table.c.id).where(table.c.id == incident_id)).first() is not None


def _incident(session: Session, incident_id: uuid.UUID, **values: object) -> None:
    if not update(session, ReportIncident.__table__, {"id": incident_id}, values):
        raise Unresolved("incident", incident_id)


def on_level_changed(session: Session, envelope: Envelope, payload: IncidentLevelChanged) -> None:
    counts = (
        {"hospitalised_count": payload.hospitalised_count} if payload.hospitalised_count is not None else {}
    )
    _incident(
        session,
        payload.incident_id,
        level=payload.level,
        ill_count=payload.ill_count,
        death_count=payload.death_count,
        **counts,
    )


def on_counts_updated(session: Session, envelope: Envelope, payload: IncidentCountsUpdated) -> None:
    _incident(
        session,
        payload.incident_id,
        level=payload.level,
        ill_count=payload.ill_count,
        hospitalised_count=payload.hospitalised_count,
        death_count=payload.death_count,
    )


def _reported_at(session: Session, incident_id: uuid.UUID) -> datetime | None:
    table = ReportIncident.__table__
    return session.execute(sa.select(table.c.reported_at).where(table.c.id == incident_id)).scalar()


def on_acknowledged(session: Session, envelope: Envelope, payload: AlertAcknowledged) -> None:
    """The first acknowledgement counts: a lapsed one followed by another keeps the first time."""
    table = ReportIncident.__table__
    reported_at = _reported_at(session, payload.incident_id)
    if reported_at is None and not _incident_known(session, payload.incident_id):
        raise Unresolved("incident", payload.incident_id)
    at = (
        reported_at + timedelta(seconds=payload.seconds_since_report) if reported_at else envelope.occurred_at
    )
    session.execute(
        table.update()
        .where(table.c.id == payload.incident_id, table.c.acknowledged_at.is_(None))
        .values(acknowledged_at=at, seconds_to_acknowledge=payload.seconds_since_report)
    )
    session.execute(
        table.update()
        .where(table.c.id == payload.incident_id, table.c.status == "reported")
        .values(status="acknowledged")
    )


def on_progressed(session: Session, envelope: Envelope, payload: IncidentProgressed) -> None:
    _incident(session, payload.incident_id, status=payload.status)


def on_closed(session: Session, envelope: Envelope, payload: IncidentClosed) -> None:
    reported_at = _reported_at(session, payload.incident_id)
    at = (
        reported_at + timedelta(seconds=payload.seconds_since_report) if reported_at else envelope.occurred_at
    )
    values: dict[str, object] = {
        "status": "closed",
        "closed_at": at,
        "seconds_to_close": payload.seconds_since_report,
        "cause": payload.cause,
    }
    for name in ("level", "ill_count", "hospitalised_count", "death_count"):
        if getattr(payload, name) is not None:
            values[name] = getattr(payload, name)
    _incident(session, payload.incident_id, **values)


def on_escalated(session: Session, envelope: Envelope, payload: AlertEscalated) -> None:
    """Keyed by the step, not counted: a step seen twice does not escalate twice."""
    table = ReportIncident.__table__
    changed = session.exec(
        table.update()
        .where(table.c.id == payload.incident_id, table.c.escalation_steps < payload.step)
        .values(escalation_steps=payload.step)
    ).rowcount
    if not changed and not _incident_known(session, payload.incident_id):
        raise Unresolved("incident", payload.incident_id)


def on_alert_raised(session: Session, envelope: Envelope, payload: AlertRaised) -> None:
    upsert(
        session,
        ReportAlert.__table__,
        {"id": payload.alert_id},
        {
            "county_id": envelope.county_id,
            "township_id": envelope.township_id or "",
            "kind": payload.kind,
            "subject": payload.subject,
            "business_id": payload.business_id,
            "summary": payload.summary[:500],
            "raised_at": envelope.occurred_at,
            "suppressed": payload.suppressed_by_incident is not None,
        },
    )


def on_alert_resolved(session: Session, envelope: Envelope, payload: AlertResolved) -> None:
    resolved = {"resolved_at": envelope.occurred_at, "occurrences": payload.occurrences}
    if update(session, ReportAlert.__table__, {"id": payload.alert_id}, resolved):
        return
    upsert(
        session,
        ReportAlert.__table__,
        {"id": payload.alert_id},
        {
            "county_id": envelope.county_id,
            "township_id": envelope.township_id or "",
            "kind": payload.kind,
            "subject": payload.subject,
            "summary": (payload.note or "")[:500],
            **resolved,
        },
    )
