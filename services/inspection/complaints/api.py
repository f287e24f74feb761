"""HTTP: complaints and reports from the public."""

from __future__ import annotations

import uuid

from fastapi import status

from services.inspection.complaints import service
from services.inspection.complaints.models import (
    Assignment,
    Closure,
    ComplaintCreate,
    ComplaintRead,
    ComplaintStatus,
    Decision,
)
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.paging import Limit, Offset, Page
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/complaints", tags=["complaints"])


@router.post(
    "", response_model=ComplaintRead, status_code=status.HTTP_201_CREATED, summary="Take in a complaint"
)
def receive(data: ComplaintCreate, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Sets the deadlines in working days (accept, verify) and emits `complaint.received`."""
    return service.to_read(service.receive(session=session, principal=user, data=data, clock=clock))


@router.get("", response_model=Page[ComplaintRead], summary="Complaints in the caller's scope, newest first")
def list_complaints(
    session: SessionDep,
    user: CurrentUser,
    offset: Offset = 0,
    limit: Limit = 50,
    status: ComplaintStatus | None = None,
):
    items, total = service.search(session=session, principal=user, offset=offset, limit=limit, status_=status)
    return Page[ComplaintRead](
        items=[service.to_read(c) for c in items], total=total, offset=offset, limit=limit
    )


@router.get("/{complaint_id}", response_model=ComplaintRead, summary="One complaint")
def get_complaint(complaint_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    return service.to_read(service.get(session=session, principal=user, complaint_id=complaint_id))


@router.post("/{complaint_id}/decision", response_model=ComplaintRead, summary="Accept or refuse")
def decide(complaint_id: uuid.UUID, data: Decision, session: SessionDep, user: CurrentUser, clock: ClockDep):
    complaint = service.decide(
        session=session, principal=user, complaint_id=complaint_id, data=data, clock=clock
    )
    return service.to_read(complaint)


@router.post("/{complaint_id}/assignment", response_model=ComplaintRead, summary="Assign to an inspector")
def assign(complaint_id: uuid.UUID, data: Assignment, session: SessionDep, user: CurrentUser):
    return service.to_read(
        service.assign(session=session, principal=user, complaint_id=complaint_id, data=data)
    )


@router.post("/{complaint_id}/closure", response_model=ComplaintRead, summary="Close with the result")
def close(complaint_id: uuid.UUID, data: Closure, session: SessionDep, user: CurrentUser, clock: ClockDep):
    complaint = service.close(
        session=session, principal=user, complaint_id=complaint_id, data=data, clock=clock
    )
    return service.to_read(complaint)
