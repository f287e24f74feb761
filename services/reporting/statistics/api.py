"""HTTP: the figures of a county, township or village for a period, and the records behind each."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.reporting.statistics import service
from services.reporting.statistics.models import RecordPage, Statistics
from services.reporting.statistics.params import PlacePeriod
from shared.auth import ReportingReader
from shared.deps import ClockDep, SessionDep
from shared.paging import Offset
from shared.routing import ServiceRouter

PageLimit = Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="Rows to return at most")]

router = ServiceRouter(prefix="/statistics", tags=["statistics"])


@router.get(
    "/{place_id}",
    response_model=Statistics,
    response_model_by_alias=True,
    summary="Every figure of a place for a period, each with a link to its records",
)
def place_statistics(where: PlacePeriod, session: SessionDep, user: ReportingReader, clock: ClockDep):
    scope = where.scope(session, user)
    return service.statistics(session, scope, where.period(clock))


@router.get(
    "/{place_id}/records/{key}",
    response_model=RecordPage,
    summary="The records a figure counts (drill-down)",
)
def figure_records(
    where: PlacePeriod,
    key: str,
    session: SessionDep,
    user: ReportingReader,
    clock: ClockDep,
    group: Annotated[str | None, Query(max_length=40)] = None,
    limit: PageLimit = 100,
    offset: Offset = 0,
):
    scope = where.scope(session, user)
    return service.records(
        session,
        key=key,
        scope=scope,
        period=where.period(clock),
        group=group,
        limit=limit,
        offset=offset,
    )
