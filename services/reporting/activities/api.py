"""HTTP: record publicity events, trainings and village assessment scores; list them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, status

from services.reporting.activities import service
from services.reporting.activities.models import (
    AssessmentRead,
    AssessmentSet,
    PublicityCreate,
    PublicityRead,
    TrainingCreate,
    TrainingRead,
)
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.paging import Limit, Offset, Page
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/activities", tags=["activities"])


@router.post(
    "/publicity",
    response_model=PublicityRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a publicity event (banners, boards, leaflets, people consulted)",
)
def record_publicity(data: PublicityCreate, session: SessionDep, user: CurrentUser, clock: ClockDep):
    return service.record_publicity(session=session, principal=user, data=data, clock=clock)


@router.get("/publicity", response_model=Page[PublicityRead], summary="Publicity events, latest first")
def list_publicity(session: SessionDep, user: CurrentUser, limit: Limit = 100, offset: Offset = 0):
    return service.list_publicity(session=session, principal=user, limit=limit, offset=offset)


@router.post(
    "/trainings",
    response_model=TrainingRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a training of coordinators, operators or staff",
)
def record_training(data: TrainingCreate, session: SessionDep, user: CurrentUser, clock: ClockDep):
    return service.record_training(session=session, principal=user, data=data, clock=clock)


@router.get("/trainings", response_model=Page[TrainingRead], summary="Trainings, latest first")
def list_trainings(session: SessionDep, user: CurrentUser, limit: Limit = 100, offset: Offset = 0):
    return service.list_trainings(session=session, principal=user, limit=limit, offset=offset)


@router.put(
    "/assessments/{village_id}/{year}",
    response_model=AssessmentRead,
    summary="Set a village's annual assessment score (again to correct it)",
)
def set_assessment(
    village_id: str,
    year: Annotated[int, Path(ge=1900, le=2100)],
    data: AssessmentSet,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
):
    return service.set_assessment(
        session=session, principal=user, village_id=village_id, year=year, data=data, clock=clock
    )


@router.get("/assessments", response_model=list[AssessmentRead], summary="Village assessment scores")
def list_assessments(
    session: SessionDep, user: CurrentUser, year: Annotated[int | None, Query(ge=1900, le=2100)] = None
):
    return service.list_assessments(session=session, principal=user, year=year)
