"""HTTP: rural banquets, filed by village coordinators (or the township on their behalf)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, status

from services.registry.banquets import service
from services.registry.banquets.models import (
    Banquet,
    BanquetAssessment,
    BanquetCreate,
    BanquetRead,
    Occasion,
)
from shared.auth import load_in_scope
from shared.dates import Day
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.errors import Invalid
from shared.paging import Limit, Offset, Page
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/banquets", tags=["banquets"])


@router.post("", response_model=BanquetRead, status_code=status.HTTP_201_CREATED, summary="File a banquet")
def file_banquet(data: BanquetCreate, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Village coordinators file for their own village. Emits `banquet.filed`, and `banquet.late`
    or `banquet.guidance_due` when the filing rules say so."""
    return service.file(session=session, principal=user, data=data, clock=clock)


@router.get("", response_model=Page[BanquetRead], summary="Banquets in the caller's scope, latest first")
def list_banquets(
    session: SessionDep,
    user: CurrentUser,
    offset: Offset = 0,
    limit: Limit = 50,
    village_id: str | None = None,
    held_from: Annotated[Day | None, Query(alias="from")] = None,
    held_to: Annotated[Day | None, Query(alias="to")] = None,
):
    if held_from and held_to and held_from > held_to:
        raise Invalid("from", "must not be after 'to'")
    items, total = service.search(
        session=session,
        principal=user,
        offset=offset,
        limit=limit,
        village_id=village_id,
        held_from=held_from,
        held_to=held_to,
    )
    return Page(
        items=[BanquetRead.model_validate(banquet) for banquet in items],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get(
    "/assessment",
    response_model=BanquetAssessment,
    summary="What the filing rules would decide for a banquet filed today",
)
def assess_banquet(
    user: CurrentUser,
    clock: ClockDep,
    occasion: Occasion,
    held_on: Day,
    people: Annotated[int, Query(ge=0, le=20_000)] = 0,
    tables: Annotated[int, Query(ge=0, le=1000)] = 0,
):
    """Required, late, on-site guidance due: the verdict a filing made now would get, with the
    numbers of the rule in force, so the filing form can say so while it is typed. Records nothing."""
    return service.assess(
        principal=user, occasion=occasion, held_on=held_on, people=people, tables=tables, clock=clock
    )


@router.get("/{banquet_id}", response_model=BanquetRead, summary="One banquet")
def get_banquet(banquet_id: uuid.UUID, session: SessionDep, user: CurrentUser):
    return load_in_scope(session, user, Banquet, banquet_id)
