"""HTTP: yearly inspection plans, worklists and coverage of the grading system."""

from __future__ import annotations

from services.inspection.plans import service
from services.inspection.plans.models import Coverage, TownshipPlan, Worklist
from shared.clock import local_today
from shared.dates import Day
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.routing import ServiceRouter

router = ServiceRouter(tags=["plans"])


@router.get("/plans", response_model=TownshipPlan, summary="This year's inspections due per business")
def township_plan(
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    township_id: str | None = None,
    on: Day | None = None,
):
    """Due per year by risk level (A 1, B 2, C 3, D 4 by default), done so far, and the state of the
    next one (planned, due, overdue). Township and inspector callers default to their township."""
    return service.township_plan(
        session=session, principal=user, township_id=township_id, on=on or local_today(clock)
    )


@router.get("/worklist", response_model=Worklist, summary="What is due and overdue")
def worklist(
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    township_id: str | None = None,
    on: Day | None = None,
):
    return service.worklist(
        session=session, principal=user, township_id=township_id, on=on or local_today(clock)
    )


@router.get("/coverage", response_model=Coverage, summary="Grading coverage per township (last 12 months)")
def coverage(session: SessionDep, user: CurrentUser, clock: ClockDep, on: Day | None = None):
    return service.coverage(session=session, principal=user, on=on or local_today(clock))
