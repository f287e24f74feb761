"""HTTP: the work summary of a township or the county for a period (HTML, DOCX, PDF) and its
editable free-text sections."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import Query, Response
from fastapi.responses import HTMLResponse

from services.reporting.documents import render, service, writer
from services.reporting.documents.content import Document
from services.reporting.documents.models import SECTION_TITLES, SectionRead, SectionsUpdate, SummarySection
from services.reporting.statistics.params import PlacePeriod
from services.reporting.statistics.scope import Scope
from shared.auth import ReportingReader
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.errors import Invalid
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/documents", tags=["documents"])

Format = Literal["html", "docx", "pdf"]

MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def summary_scope(scope: Scope) -> Scope:
    if scope.level == "village":
        raise Invalid("place_id", "a work summary is written for a township or the county")
    return scope


def rendered(document_format: Format, document: Document) -> Response:
    """The document in the format asked for, named for download (except HTML, shown inline)."""
    if document_format == "html":
        return HTMLResponse(render.html(document))
    body = render.docx(document) if document_format == "docx" else render.pdf(document)
    filename = quote(f"{document.title}.{document_format}")
    return Response(
        body,
        media_type=MEDIA_TYPES[document_format],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )


@router.get(
    "/{place_id}/summary",
    summary="The work summary (一、加强领导 … 下一步工作计划) with every figure filled in from the data",
    response_class=Response,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
def summary(
    where: PlacePeriod,
    session: SessionDep,
    user: ReportingReader,
    clock: ClockDep,
    format: Annotated[Format, Query(description="html, docx or pdf")] = "html",
):
    scope = summary_scope(where.scope(session, user))
    document = writer.write(service.collect(session, scope, where.period(clock)))
    return rendered(format, document)


def _read(rows: Iterable[SummarySection]) -> list[SectionRead]:
    return [
        SectionRead(
            section=row.section,
            title=SECTION_TITLES[row.section],
            text=row.text,
            updated_by=row.updated_by,
            updated_at=row.updated_at,
        )
        for row in sorted(rows, key=lambda row: list(SECTION_TITLES).index(row.section))
    ]


@router.get("/{place_id}/sections", response_model=list[SectionRead], summary="The free-text sections")
def get_sections(where: PlacePeriod, session: SessionDep, user: CurrentUser):
    scope = summary_scope(where.scope(session, user))
    return _read(service.section_rows(session, scope.place_id, where.period().code))


@router.put("/{place_id}/sections", response_model=list[SectionRead], summary="Write free-text sections")
def put_sections(where: PlacePeriod, data: SectionsUpdate, session: SessionDep, user: CurrentUser):
    """County and township offices. The role is checked before the place: an inspector is told
    403 for every place alike, not 404 for some and 403 for the others."""
    user.ensure_role(*service.EDITORS)
    scope = summary_scope(where.scope(session, user))
    return _read(
        service.save_sections(session=session, principal=user, scope=scope, period=where.period(), data=data)
    )
