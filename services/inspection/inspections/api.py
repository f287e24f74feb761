"""HTTP: recording and reading inspections, their photos, and referral of a case to the police."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Response, status

from services.inspection.inspections import service
from services.inspection.inspections.attachments import AttachmentStore, store_for
from services.inspection.inspections.models import (
    AttachmentRead,
    InspectionCreate,
    InspectionKind,
    InspectionPreview,
    InspectionRead,
)
from services.inspection.rectification import service as rectification
from services.inspection.rectification.models import ReferralCreate, ReferralRead
from shared.auth import InspectionReader
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.paging import Offset, Page
from shared.routing import ServiceRouter

Limit200 = Annotated[int, Query(ge=1, le=200, description="Rows to return at most")]

router = ServiceRouter(prefix="/inspections", tags=["inspections"])


def attachment_store(request: Request) -> AttachmentStore:
    return store_for(request.app.state.settings, request.app.state.inspection_config)


async def request_body(request: Request) -> bytes:
    """The raw request body, read in the event loop so that the endpoint itself can stay sync."""
    return await request.body()


@router.post(
    "", response_model=InspectionRead, status_code=status.HTTP_201_CREATED, summary="Record an inspection"
)
def record_inspection(data: InspectionCreate, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Computes outcome, action, score and dynamic grade from the rule tables; emits
    `inspection.completed` and a `rectification.ordered` per newly failed item."""
    inspection = service.record(session=session, principal=user, data=data, clock=clock)
    return service.to_read(session, [inspection])[0]


@router.post("/preview", response_model=InspectionPreview, summary="The verdict an inspection would get")
def preview_inspection(data: InspectionCreate, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Every check of `POST /inspections` and the same verdict (outcome, action, score, grade), with
    nothing written: what an inspector's phone shows before the record is submitted."""
    return service.preview(session=session, principal=user, data=data, clock=clock)


@router.get(
    "", response_model=Page[InspectionRead], summary="Inspections in the caller's scope, newest first"
)
def list_inspections(
    session: SessionDep,
    user: InspectionReader,
    offset: Offset = 0,
    limit: Limit200 = 50,
    business_id: uuid.UUID | None = None,
    kind: InspectionKind | None = None,
    outcome: str | None = None,
):
    items, total = service.search(
        session=session,
        principal=user,
        offset=offset,
        limit=limit,
        business_id=business_id,
        kind=kind,
        outcome=outcome,
    )
    return Page[InspectionRead](
        items=service.to_read(session, items), total=total, offset=offset, limit=limit
    )


@router.get("/{inspection_id}", response_model=InspectionRead, summary="One inspection")
def get_inspection(inspection_id: uuid.UUID, session: SessionDep, user: InspectionReader):
    return service.to_read(
        session, [service.get(session=session, principal=user, inspection_id=inspection_id)]
    )[0]


@router.post(
    "/{inspection_id}/photos",
    max_body_size=service.MAX_ATTACHMENT_BYTES,
    response_model=AttachmentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Attach a photo (the request body is the file)",
)
def attach_photo(
    inspection_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    data: Annotated[bytes, Depends(request_body)],
    filename: Annotated[str, Query(min_length=1, max_length=200)],
    content_type: Annotated[str, Header()] = "application/octet-stream",
):
    return service.attach(
        session=session,
        principal=user,
        inspection_id=inspection_id,
        filename=filename,
        content_type=content_type,
        data=data,
        store=attachment_store(request),
    )


@router.get(
    "/{inspection_id}/photos/{attachment_id}",
    summary="Download a photo",
    response_class=Response,
    responses={200: {"content": {media: {} for media in service.ATTACHMENT_TYPES}}},
)
def get_photo(
    inspection_id: uuid.UUID,
    attachment_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
):
    found = service.attachment(
        session=session, principal=user, inspection_id=inspection_id, attachment_id=attachment_id
    )
    body = attachment_store(request).get(found.storage_key)
    return Response(content=body, media_type=found.content_type)


@router.post(
    "/{inspection_id}/referral",
    response_model=ReferralRead,
    status_code=status.HTTP_201_CREATED,
    summary="Refer the case to the police with its evidence",
)
def refer(inspection_id: uuid.UUID, data: ReferralCreate, session: SessionDep, user: CurrentUser):
    """Township or county office. Emits `case.referred` with the items and photos as evidence."""
    user.ensure_role(*rectification.DECIDERS)
    inspection = service.get(session=session, principal=user, inspection_id=inspection_id)
    return rectification.refer(session=session, principal=user, inspection=inspection, data=data)
