"""HTTP: import a township's ledger (CSV or XLSX as the request body) and export the register."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, BinaryIO

from fastapi import Depends, Query, Request, Response
from fastapi.responses import FileResponse

from services.registry.businesses.models import BusinessFilter, BusinessKind, BusinessStatus
from services.registry.imports import ledger, rejections, service
from services.registry.imports.models import ImportReport
from shared.auth import RegistryImporter, RegistryReader
from shared.clock import local_today
from shared.deps import ClockDep, SessionDep
from shared.errors import Invalid, NotFound, TooLarge
from shared.routing import ServiceRouter

router = ServiceRouter(tags=["ledger"])

MAX_BYTES = 32 * 1024 * 1024
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _too_large() -> TooLarge:
    return TooLarge("file", f"larger than {MAX_BYTES // (1024 * 1024)} MB")


async def _upload(request: Request, user: RegistryImporter) -> AsyncIterator[BinaryIO]:
    """The body streamed into a temporary file, never held in memory; refused with 413 as soon as it
    passes MAX_BYTES (at once when Content-Length says so). The role is checked first, so a
    caller who may not import cannot make the service store anything."""
    user.ensure_role(*service.IMPORTERS)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise _too_large()
    with tempfile.TemporaryFile(prefix="shian-ledger-") as spool:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BYTES:
                raise _too_large()
            spool.write(chunk)
        spool.seek(0)
        yield spool


@router.post(
    "/imports/businesses",
    response_model=ImportReport,
    summary="Import a ledger of businesses (the file is the request body)",
    max_body_size=MAX_BYTES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()
            },
        },
    },
)
def import_businesses(
    user: RegistryImporter,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
    upload: Annotated[BinaryIO, Depends(_upload)],
    format: ledger.LedgerFormat = "csv",
    dry_run: bool = False,
):
    """County and township offices. Every row is checked; the rejected ones are reported with the
    column and reason (the first 200 here, all of them at `rejections_url`), the accepted ones are
    registered together (all or none). `dry_run` checks without writing. A file beyond a ledger's
    size (32 MB, 50,000 rows, 500 characters a cell, a workbook that expands too far) is refused
    as a whole."""
    try:
        rows = ledger.Ledger(upload, format)
    except ledger.LedgerError as error:
        raise Invalid("file", str(error)) from None
    report = rejections.RejectionReport(request.app.state.settings.var_dir, user)
    try:
        result = service.import_ledger(
            session=session,
            principal=user,
            rows=rows,
            today=local_today(clock),
            dry_run=dry_run,
            on_rejected=report.add,
        )
    except ledger.LedgerError as error:  # a workbook past a limit, found as its rows are read
        report.discard()
        raise Invalid("file", str(error)) from None
    except BaseException:
        report.discard()
        raise
    import_id = report.close()
    if import_id is not None:
        result.import_id = import_id
        result.rejections_url = str(request.url_for("import_rejections", import_id=import_id).path)
    return result


@router.get(
    "/imports/{import_id}/rejections.csv",
    name="import_rejections",
    summary="Every rejection of an import, as CSV",
    response_class=FileResponse,
)
def import_rejections(import_id: uuid.UUID, request: Request, user: RegistryImporter) -> FileResponse:
    """The office that imported (and its county); anyone else gets 404, as for an unknown import."""
    user.ensure_role(*service.IMPORTERS)
    path = rejections.find(request.app.state.settings.var_dir, import_id, user)
    if path is None:
        raise NotFound()
    return FileResponse(
        path,
        media_type=MEDIA_TYPES["csv"],
        filename=f"rejections-{import_id}.csv",
    )


@router.get(
    "/exports/businesses",
    summary="Export the register in the ledger's shape",
    response_class=Response,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
def export_businesses(
    user: RegistryReader,
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
