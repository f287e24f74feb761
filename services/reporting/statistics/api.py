"""HTTP: the figures of a county, township or village for a period, and the records behind each."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.reporting.statistics import periods, service
from services.reporting.statistics.models import RecordPage, Statistics
from services.reporting.statistics.scope import resolve_scope
from shared.clock import local_today
from shared.dates import Day
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.paging import Offset, limit_of
from shared.routing import ServiceRouter

PageLimit = limit_of(service.MAX_PAGE)

router = ServiceRouter(prefix="/statistics", tags=["statistics"])

PeriodCode = Annotated[
    str | None, Query(max_length=20, description="2026, 2026-H1, 2026-H2, 2026-Q2 or 2026-05")
]
First = Annotated[Day | None, Query(alias="from", description="First day of a custom range")]
Last = Annotated[Day | None, Query(alias="to", description="Last day (inclusive) of a custom range")]


@router.get(
    "/{place_id}",
    response_model=Statistics,
    response_model_by_alias=True,
    summary="Every figure of a place for a period, each with a link to its records",
)
def place_statistics(
    place_id: str,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    period: PeriodCode = None,
    first: First = None,
    last: Last = None,
):
    scope = resolve_scope(session, user, place_id)
    wanted = periods.resolve(period, first, last).at(local_today(clock))
    return service.statistics(session, scope, wanted)


@router.get(
    "/{place_id}/records/{key}",
    response_model=RecordPage,
    summary="The records a figure counts (drill-down)",
)
def figure_records(
    place_id: str,
    key: str,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    period: PeriodCode = None,
    first: First = None,
    last: Last = None,
    group: Annotated[str | None, Query(max_length=40)] = None,
    limit: PageLimit = 100,
    offset: Offset = 0,
):
    scope = resolve_scope(session, user, place_id)
    return service.records(
        session,
        key=key,
        scope=scope,
        period=periods.resolve(period, first, last).at(local_today(clock)),
        group=group,
        limit=limit,
        offset=offset,
    )
