"""HTTP: report incidents, respond to them (acknowledge, progress, notes, counts, close), and read
them, scoped to the caller's place."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Response, status
from sqlmodel import Session

from services.alerts.context import EscalatorDep
from services.alerts.escalation.models import EscalationTimer
from services.alerts.incidents import commands, queries, stats
from services.alerts.incidents.models import (
    Acknowledge,
    Close,
    CountsUpdate,
    Incident,
    IncidentCreate,
    IncidentRead,
    NoteCreate,
    Progress,
    ReportRead,
    ResponseStats,
    TimelineRead,
)
from services.alerts.notifications import service as notifications
from services.alerts.notifications.models import AttemptRead, NotificationRead
from shared.auth import AlertsReader
from shared.catalogue.alerts import IncidentLevel
from shared.clock import Clock
from shared.dates import Moment
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.paging import Limit, Offset, Page
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/incidents", tags=["incidents"])


TIMER_KINDS: dict[str, Literal["acknowledge", "progress"]] = {
    "ack_deadline": "acknowledge",
    "ack_progress": "progress",
}


def _read(incident: Incident, clock: Clock, timer: EscalationTimer | None = None) -> IncidentRead:
    """The incident as answered: its age, the escalation step it has reached and, while a timer
    runs, its next deadline (what a responder's console counts down to)."""
    view = IncidentRead.model_validate(incident)
    view.age_seconds = round((clock.now() - incident.reported_at).total_seconds(), 3)
    if incident.escalation_steps and incident.escalation_step is not None:
        steps = incident.escalation_steps
        step = steps[min(incident.escalation_step, len(steps) - 1)]
        view.step_name, view.step_tier = step.get("name"), step.get("tier")
    if timer is not None and incident.status != "closed":
        view.deadline_at = timer.due_at
        view.deadline_kind = TIMER_KINDS.get(timer.kind)
    return view


def _read_one(session: Session, incident: Incident, clock: Clock) -> IncidentRead:
    return _read(incident, clock, queries.live_timers(session, [incident.id]).get(incident.id))


@router.post(
    "",
    response_model=IncidentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Report a food-safety incident",
    responses={200: {"description": "Another report of an incident already open: grouped into it"}},
)
def report_incident(
    data: IncidentCreate,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    escalator: EscalatorDep,
    response: Response,
):
    """Classified level I-IV (or below IV) from the severity rule table; emits `incident.reported`
    and notifies the escalation chain. A report of an outbreak already open (same business, banquet,
    or village and kind of place, within the grouping window) is added to it: 200, not 201."""
    result = commands.report(session=session, principal=user, data=data, clock=clock, escalator=escalator)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return _read_one(session, result.incident, clock)


@router.get("", response_model=Page[IncidentRead], summary="Incidents by level and age (open by default)")
def list_incidents(
    session: SessionDep,
    user: AlertsReader,
    clock: ClockDep,
    state: Literal["open", "closed", "all"] = "open",
    level: IncidentLevel | None = None,
    township_id: str | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
):
    """The most severe first, then the longest waiting; `age_seconds` counts from the report."""
    rows, total = queries.list_incidents(
        session=session,
        principal=user,
        offset=offset,
        limit=limit,
        state=state,
        level=level,
        township_id=township_id,
    )
    timers = queries.live_timers(session, [row.id for row in rows])
    return Page[IncidentRead](
        items=[_read(row, clock, timers.get(row.id)) for row in rows], total=total, offset=offset, limit=limit
    )


@router.get("/stats", response_model=ResponseStats, summary="Time to acknowledge and to close")
def response_stats(
    session: SessionDep, user: AlertsReader, since: Moment | None = None, until: Moment | None = None
):
    """Per incident and per township, for incidents reported in [since, until)."""
    return stats.response_stats(session=session, principal=user, since=since, until=until)


@router.get("/{incident_id}", response_model=IncidentRead, summary="One incident")
def get_incident(incident_id: uuid.UUID, session: SessionDep, user: AlertsReader, clock: ClockDep):
    incident = queries.get(session=session, principal=user, incident_id=incident_id)
    return _read_one(session, incident, clock)


@router.get("/{incident_id}/timeline", response_model=list[TimelineRead], summary="Every step, in order")
def get_timeline(incident_id: uuid.UUID, session: SessionDep, user: AlertsReader):
    return queries.timeline_of(session=session, principal=user, incident_id=incident_id)


@router.get("/{incident_id}/reports", response_model=list[ReportRead], summary="The reports grouped in it")
def get_reports(incident_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    return queries.reports_of(session=session, principal=user, incident_id=incident_id)


@router.get(
    "/{incident_id}/notifications",
    response_model=list[NotificationRead],
    summary="Notifications and attempts",
)
def get_notifications(incident_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    incident = queries.get(session=session, principal=user, incident_id=incident_id)
    return [
        NotificationRead.model_validate(row).model_copy(
            update={"attempt_log": [AttemptRead.model_validate(attempt) for attempt in attempts]}
        )
        for row, attempts in notifications.for_incident(session, incident.id)
    ]


@router.post("/{incident_id}/acknowledge", response_model=IncidentRead, summary="Take responsibility")
def acknowledge(
    incident_id: uuid.UUID,
    data: Acknowledge,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    escalator: EscalatorDep,
):
    """Stops the escalation; it lapses (and the step is notified again) if no progress follows in
    the window of the rule table. 409 when nothing awaits an acknowledgement."""
    incident = commands.acknowledge(
        session=session,
        principal=user,
        incident_id=incident_id,
        note=data.note,
        clock=clock,
        escalator=escalator,
    )
    return _read_one(session, incident, clock)


@router.post("/{incident_id}/progress", response_model=IncidentRead, summary="Responding, or contained")
def progress(incident_id: uuid.UUID, data: Progress, session: SessionDep, user: CurrentUser, clock: ClockDep):
    incident = commands.progress(
        session=session,
        principal=user,
        incident_id=incident_id,
        new_status=data.status,
        note=data.note,
        clock=clock,
    )
    return _read_one(session, incident, clock)


@router.post(
    "/{incident_id}/notes",
    response_model=TimelineRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a note",
)
def add_note(
    incident_id: uuid.UUID, data: NoteCreate, session: SessionDep, user: CurrentUser, clock: ClockDep
):
    return commands.add_note(
        session=session, principal=user, incident_id=incident_id, text=data.text, clock=clock
    )


@router.patch("/{incident_id}/counts", response_model=IncidentRead, summary="Update the counts")
def update_counts(
    incident_id: uuid.UUID,
    data: CountsUpdate,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    escalator: EscalatorDep,
):
    """Current figures (not increments). Reclassified; a higher level escalates again at once."""
    incident = commands.update_counts(
        session=session, principal=user, incident_id=incident_id, data=data, clock=clock, escalator=escalator
    )
    return _read_one(session, incident, clock)


@router.post("/{incident_id}/close", response_model=IncidentRead, summary="Close with the cause")
def close(
    incident_id: uuid.UUID,
    data: Close,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    escalator: EscalatorDep,
):
    incident = commands.close(
        session=session,
        principal=user,
        incident_id=incident_id,
        cause=data.cause,
        note=data.note,
        clock=clock,
        escalator=escalator,
    )
    return _read_one(session, incident, clock)
