"""HTTP: the business directory as inspection knows it (what inspectors can be sent to)."""

from __future__ import annotations

import uuid

from services.inspection.directory import service
from services.inspection.directory.models import DirectoryBusinessRead
from shared.deps import CurrentUser, SessionDep
from shared.errors import NotFound
from shared.paging import Limit, Offset, Page
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/directory", tags=["directory"])


@router.get(
    "/businesses", response_model=Page[DirectoryBusinessRead], summary="Businesses known to inspection"
)
def list_businesses(
    session: SessionDep,
    user: CurrentUser,
    offset: Offset = 0,
    limit: Limit = 50,
    township_id: str | None = None,
):
    items, total = service.search(
        session=session, principal=user, offset=offset, limit=limit, township_id=township_id
    )
    return Page[DirectoryBusinessRead](
        items=[DirectoryBusinessRead.model_validate(business) for business in items],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/businesses/{business_id}", response_model=DirectoryBusinessRead, summary="One business")
def get_business(business_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    business = service.get(session=session, principal=user, business_id=business_id)
    if business is None:
        raise NotFound()
    return business
