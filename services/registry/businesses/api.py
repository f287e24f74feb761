"""HTTP: the register of businesses, scoped to the caller's place."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from services.registry.businesses import commands, queries
from services.registry.businesses.models import (
    Business,
    BusinessCreate,
    BusinessFilter,
    BusinessKind,
    BusinessRead,
    BusinessStatus,
    BusinessUpdate,
    GradeRead,
    InvestigationDecision,
    LicenceIn,
    LicenceKind,
    LicenceRead,
    LicenceState,
    RiskLevel,
    SortKey,
    StatusChange,
)
from shared.auth import RegistryReader, load_in_scope
from shared.clock import local_today
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.paging import Limit, Offset, Page
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/businesses", tags=["businesses"])


def _read(session: SessionDep, business: Business) -> BusinessRead:
    return queries.to_read(session, [business])[0]


@router.post(
    "", response_model=BusinessRead, status_code=status.HTTP_201_CREATED, summary="Register a food business"
)
def register_business(data: BusinessCreate, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Emits `business.registered` (and `licence.recorded` per licence given). The village decides
    the township; it must be in the caller's area, and a licence number must be new in the county."""
    return _read(session, commands.register(session=session, principal=user, data=data, clock=clock))


@router.get("", response_model=Page[BusinessRead], summary="Search the businesses in the caller's scope")
def list_businesses(
    session: SessionDep,
    user: RegistryReader,
    clock: ClockDep,
    offset: Offset = 0,
    limit: Limit = 50,
    kind: BusinessKind | None = None,
    village_id: str | None = None,
    status: BusinessStatus | None = None,
    risk_level: RiskLevel | None = None,
    licence_state: Annotated[
        LicenceState | None,
        Query(description="valid, expiring (within the warning window), expired, missing"),
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Text in name, operator, address, licence")
    ] = None,
    sort: SortKey = "name",
):
    filters = BusinessFilter(
        kind=kind,
        village_id=village_id,
        status=status,
        risk_level=risk_level,
        licence_state=licence_state,
        text=q or None,
        sort=sort,
    )
    items, total = queries.search(
        session=session, principal=user, offset=offset, limit=limit, filters=filters, today=local_today(clock)
    )
    return Page(items=queries.to_read(session, items), total=total, offset=offset, limit=limit)


@router.get("/{business_id}", response_model=BusinessRead, summary="One business")
def get_business(business_id: uuid.UUID, session: SessionDep, user: RegistryReader):
    return _read(session, load_in_scope(session, user, Business, business_id))


@router.patch("/{business_id}", response_model=BusinessRead, summary="Correct a business's particulars")
def update_business(business_id: uuid.UUID, data: BusinessUpdate, session: SessionDep, user: CurrentUser):
    """Emits `business.updated` with the whole current state."""
    business = commands.update(session=session, principal=user, business_id=business_id, data=data)
    return _read(session, business)


@router.put("/{business_id}/licences/{kind}", response_model=LicenceRead, summary="Record or renew a licence")
def put_licence(
    business_id: uuid.UUID, kind: LicenceKind, data: LicenceIn, session: SessionDep, user: CurrentUser
):
    """Emits `licence.recorded`; a renewal replaces the previous number and dates."""
    return commands.record_licence(
        session=session, principal=user, business_id=business_id, kind=kind, data=data
    )


@router.post("/{business_id}/status", response_model=BusinessRead, summary="Suspend, reactivate or close")
def change_status(business_id: uuid.UUID, data: StatusChange, session: SessionDep, user: CurrentUser):
    """County and township offices; emits `business.status_changed`."""
    business = commands.change_status(session=session, principal=user, business_id=business_id, data=data)
    return _read(session, business)


@router.post(
    "/{business_id}/decision",
    response_model=BusinessRead,
    summary="Decide on a business under investigation: reactivate or close",
)
def decide(business_id: uuid.UUID, data: InvestigationDecision, session: SessionDep, user: CurrentUser):
    """The township's decision after an incident; emits `business.status_changed` if the status
    changes and `business.updated` (no longer under investigation)."""
    business = commands.decide_investigation(
        session=session, principal=user, business_id=business_id, data=data
    )
    return _read(session, business)


@router.get("/{business_id}/grades", response_model=list[GradeRead], summary="Grade history, newest first")
def grade_history(business_id: uuid.UUID, session: SessionDep, user: RegistryReader):
    business = load_in_scope(session, user, Business, business_id)
    return queries.grades(session=session, business=business)
