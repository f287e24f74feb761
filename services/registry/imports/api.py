"""HTTP: import a township's ledger (CSV or XLSX as the request body) and export the register."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from services.registry.businesses.models import BusinessFilter, BusinessKind, BusinessStatus
from services.registry.imports import ledger, service
from services.registry.imports.models import ImportReport
from shared.clock import local_today
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.web import DomainError

router = APIRouter(tags=["ledger"])

MAX_BYTES = 32 * 1024 * 1024
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise DomainError("file", f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    return body


@router.post(
    "/imports/businesses",
    response_model=ImportReport,
    summary="Import a ledger of businesses (the file is the request body)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()
            },
        }
    },
)
def import_businesses(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    body: Annotated[bytes, Depends(_body)],
    format: ledger.LedgerFormat = "csv",
    dry_run: bool = False,
):
    """County and township offices. Every row is checked; the rejected ones are reported with the
    column and reason, the accepted ones are registered together (all or none). `dry_run` checks
    without writing."""
    user.ensure_role(*service.IMPORTERS)
    try:
        rows = ledger.read(body, format)
    except ledger.LedgerError as error:
        raise DomainError("file", str(error)) from None
    return service.import_ledger(
        session=session, principal=user, rows=rows, today=local_today(clock), dry_run=dry_run
    )


@router.get(
    "/exports/businesses",
    summary="Export the register in the ledger's shape",
    response_class=Response,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
def export_businesses(
    user: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    format: ledger.LedgerFormat = "csv",
    kind: BusinessKind | None = None,
    village_id: str | None = None,
    status: BusinessStatus | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    filters = BusinessFilter(kind=kind, village_id=village_id, status=status, text=q or None)
    rows = service.export_rows(session=session, principal=user, filters=filters, today=local_today(clock))
    content = ledger.write(rows, format)
    return Response(
        content=content,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="businesses.{format}"'},
    )
