"""HTTP: register and read businesses, scoped to the caller's place."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from services.registry.businesses import service
from services.registry.businesses.models import BusinessCreate, BusinessKind, BusinessPage, BusinessRead
from shared.deps import ClockDep, CurrentUser, SessionDep

router = APIRouter(prefix="/businesses", tags=["businesses"])


@router.post(
    "", response_model=BusinessRead, status_code=status.HTTP_201_CREATED, summary="Register a food business"
)
def register_business(data: BusinessCreate, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Emits `business.registered`. The village decides the township; it must be in the caller's
    area (422 otherwise)."""
    return service.register(session=session, principal=user, data=data, clock=clock)


@router.get("", response_model=BusinessPage, summary="Businesses in the caller's scope")
def list_businesses(
    session: SessionDep,
    user: CurrentUser,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    kind: BusinessKind | None = None,
    village_id: str | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Text in the name")] = None,
):
    items, total = service.search(
        session=session, principal=user, offset=offset, limit=limit, kind=kind, village_id=village_id, text=q
    )
    return BusinessPage(items=items, total=total, offset=offset, limit=limit)  # type: ignore[arg-type]


@router.get("/{business_id}", response_model=BusinessRead, summary="One business")
def get_business(business_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    business = service.get(session=session, principal=user, business_id=business_id)
    if business is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "business not found")
    return business
