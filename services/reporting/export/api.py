"""HTTP: open data for publication, in the LIVES shape (CSV files or a zip of them) and as JSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Response

from services.reporting.export import lives
from services.reporting.statistics.params import PlacePeriod
from shared.auth import ReportingReader
from shared.deps import SessionDep
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/export", tags=["open data"])

FileName = Literal["businesses", "inspections", "violations"]


def _file_name(name: FileName) -> FileName:
    """The file asked for, read before the place and period: a 422 answer names a wrong file
    before a wrong period, the path before the query."""
    return name


File = Annotated[FileName, Depends(_file_name)]


@router.get(
    "/{place_id}/lives.zip",
    summary="businesses.csv, inspections.csv and violations.csv in one zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def lives_zip(where: PlacePeriod, session: SessionDep, user: ReportingReader) -> Response:
    """Everything, or only the period asked for."""
    scope = where.scope(session, user)
    body = lives.to_zip(session, scope, where.period_if_any())
    headers = {"Content-Disposition": f'attachment; filename="lives-{scope.place_id}.zip"'}
    return Response(body, media_type="application/zip", headers=headers)


@router.get(
    "/{place_id}/lives/{name}.csv",
    summary="One LIVES file as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv; charset=utf-8": {}}}},
)
def lives_csv(name: File, where: PlacePeriod, session: SessionDep, user: ReportingReader) -> Response:
    """Everything, or only the period asked for."""
    scope = where.scope(session, user)
    records = lives.rows(session, name, scope, where.period_if_any())
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return Response(lives.to_csv(name, records), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/{place_id}/lives/{name}.json", summary="One LIVES file as JSON (a list of records)")
def lives_json(name: File, where: PlacePeriod, session: SessionDep, user: ReportingReader) -> list[dict]:
    """Everything, or only the period asked for."""
    scope = where.scope(session, user)
    return lives.rows(session, name, scope, where.period_if_any())
