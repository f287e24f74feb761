"""HTTP: open data for publication, in the LIVES shape (CSV files or a zip of them) and as JSON."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Query, Response

from services.reporting.export import lives
from services.reporting.statistics import periods
from services.reporting.statistics.periods import Period
from services.reporting.statistics.scope import resolve_scope
from shared.dates import Day
from shared.deps import CurrentUser, SessionDep
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/export", tags=["open data"])

FileName = Literal["businesses", "inspections", "violations"]


def _period(period: str | None, first: date | None, last: date | None) -> Period | None:
    if period is None and first is None and last is None:
        return None
    return periods.resolve(period, first, last)


PeriodCode = Annotated[str | None, Query(max_length=20, description="Only this period (default: everything)")]
First = Annotated[Day | None, Query(alias="from")]
Last = Annotated[Day | None, Query(alias="to")]


@router.get(
    "/{place_id}/lives.zip",
    summary="businesses.csv, inspections.csv and violations.csv in one zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def lives_zip(
    place_id: str,
    session: SessionDep,
    user: CurrentUser,
    period: PeriodCode = None,
    first: First = None,
    last: Last = None,
) -> Response:
    scope = resolve_scope(session, user, place_id)
    body = lives.to_zip(session, scope, _period(period, first, last))
    headers = {"Content-Disposition": f'attachment; filename="lives-{scope.place_id}.zip"'}
    return Response(body, media_type="application/zip", headers=headers)


@router.get(
    "/{place_id}/lives/{name}.csv",
    summary="One LIVES file as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv; charset=utf-8": {}}}},
)
def lives_csv(
    place_id: str,
    name: FileName,
    session: SessionDep,
    user: CurrentUser,
    period: PeriodCode = None,
    first: First = None,
    last: Last = None,
) -> Response:
    scope = resolve_scope(session, user, place_id)
    records = lives.rows(session, name, scope, _period(period, first, last))
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return Response(lives.to_csv(name, records), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/{place_id}/lives/{name}.json", summary="One LIVES file as JSON (a list of records)")
def lives_json(
    place_id: str,
    name: FileName,
    session: SessionDep,
    user: CurrentUser,
    period: PeriodCode = None,
    first: First = None,
    last: Last = None,
) -> list[dict]:
    scope = resolve_scope(session, user, place_id)
    return lives.rows(session, name, scope, _period(period, first, last))
