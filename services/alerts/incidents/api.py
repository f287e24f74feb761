"""HTTP: report incidents and read them, scoped to the caller's place."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from services.alerts.incidents import service
from services.alerts.incidents.models import IncidentCreate, IncidentRead
from shared.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(prefix="/incidents", tags=["incidents"])


@router.post(
    "",
    response_model=IncidentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Report a food-safety incident",
)
def report_incident(data: IncidentCreate, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Classified level I-IV (or below IV) from the severity rule table; emits `incident.reported`."""
    return service.report(session=session, principal=user, data=data, clock=clock)


@router.get("", response_model=list[IncidentRead], summary="Open incidents, newest first")
def list_incidents(
    session: SessionDep,
    user: CurrentUser,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    return service.list_open(session=session, principal=user, offset=offset, limit=limit)


@router.get("/{incident_id}", response_model=IncidentRead, summary="One incident")
def get_incident(incident_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    incident = service.get(session=session, principal=user, incident_id=incident_id)
    if incident is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "incident not found")
    return incident
