"""The inspector, on a phone, online or not: the worklist, a business's page, the checklist with
the verdict shown before submitting, and the inspection recorded. The service worker
(`/inspector/sw.js`) keeps these pages for offline use; `static/inspector.js` queues a checklist
recorded offline and sends it, under its idempotency key, when the network returns."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import RedirectResponse, Response

from services.web.client import NotFound, Refused
from services.web.deps import ClientDep, role
from services.web.forms import Form
from services.web.inspector import service
from services.web.session import WebSession
from services.web.templating import page

router = APIRouter(prefix="/inspector")
Inspector = Annotated[WebSession, Depends(role("inspector", "township"))]
WORKER = Path(__file__).parents[1] / "static" / "inspector-sw.js"
SERVICE_FIELDS = {
    "kind": "kind",
    "inspectors": "inspectors",
    "notes": "notes",
    "items": "items",
    "complaint_id": "complaint_id",
}
UPLOAD_LIMIT = service.MAX_PHOTOS * service.MAX_PHOTO_BYTES + 1024 * 1024


def _record_id(value: str) -> str:
    """A record id from the address bar: a UUID, or the 404 page (never passed on as a path)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound() from None


@router.get("/sw.js", include_in_schema=False)
async def worker() -> Response:
    """The service worker, served under /inspector/ so that its scope is the inspector's pages;
    never cached by the browser's HTTP cache, so that a new version is picked up at once."""
    return Response(
        WORKER.read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/inspector"},
    )


@router.get("")
async def start(request: Request, session: Inspector, client: ClientDep) -> Response:
    work = await service.worklist(client, session)
    return page(request, "inspector/start.html", work=work)


@router.get("/businesses/{business_id}")
async def business(request: Request, business_id: str, session: Inspector, client: ClientDep) -> Response:
    """The business; `?kind=` and `?complaint=` (a worklist follow-up) go on to its checklist."""
    found = await service.business_page(client, session, _record_id(business_id))
    follow_up = service.follow_up(
        request.query_params.get("kind", ""), request.query_params.get("complaint", "")
    )
    return page(request, "inspector/business.html", follow_up=follow_up, **found)


async def _checklist_page(
    request: Request,
    session: WebSession,
    client: ClientDep,
    business_id: str,
    recorded: service.Recorded,
    code: int = status.HTTP_200_OK,
    verdict: dict[str, Any] | None = None,
) -> Response:
    found = await client.get(session, "registry", f"/businesses/{business_id}")
    template = await service.checklist_for(client, session, found["kind"])
    return page(
        request,
        "inspector/checklist.html",
        code,
        business=found,
        checklist=template,
        recorded=recorded,
        form=recorded.form,
        labels=service.LABELS,
        kinds=service.KINDS,
        verdict=verdict,
        max_photos=service.MAX_PHOTOS,
    )


@router.get("/businesses/{business_id}/inspect")
async def checklist(request: Request, business_id: str, session: Inspector, client: ClientDep) -> Response:
    """The empty checklist; the kind and complaint come from the worklist's link (a follow-up)."""
    query = request.query_params
    kind = query.get("kind", "routine")
    complaint = query.get("complaint", "")
    recorded = service.Recorded(
        form=Form(
            values={
                "kind": kind if kind in service.KINDS else "routine",
                "inspectors": session.user.name,
                "complaint_id": complaint if service.follow_up(kind, complaint) else "",
                "idempotency_key": service.new_key(),
            }
        )
    )
    return await _checklist_page(request, session, client, _record_id(business_id), recorded)


async def _read(
    request: Request, session: WebSession, client: ClientDep, business_id: str
) -> tuple[service.Recorded, dict[str, Any], dict[str, Any] | None]:
    found = await client.get(session, "registry", f"/businesses/{business_id}")
    template = await service.checklist_for(client, session, found["kind"])
    recorded = service.read_checklist(await request.form(), template)
    return recorded, template, service.inspection_body(recorded, template, business_id)


@router.post("/businesses/{business_id}/preview")
async def preview(request: Request, business_id: str, session: Inspector, client: ClientDep) -> Response:
    """The htmx fragment beside the checklist: outcome, action, score and grade as the inspection
    service would decide them for what is ticked so far. One call: the service itself knows the
    business's checklist and refuses what does not fit it."""
    business_id = _record_id(business_id)
    data = await request.form()
    ticked = service.items_in(data)
    recorded = service.read_checklist(data, {"items": ticked, "minimum_items": 1})
    body = service.inspection_body(recorded, {"items": ticked, "minimum_items": 1}, business_id)
    verdict = None
    if body is not None:
        try:
            verdict = await service.preview(client, session, body)
        except Refused as refused:
            recorded.form.refused(refused.errors, SERVICE_FIELDS, service.LABELS)
    return page(
        request, "inspector/_verdict.html", verdict=verdict, form=recorded.form, labels=service.LABELS
    )


@router.post("/businesses/{business_id}/inspections", max_body_size=UPLOAD_LIMIT)
async def record(request: Request, business_id: str, session: Inspector, client: ClientDep) -> Response:
    """Record the checklist. A repeat of the same submission (same idempotency key: a double tap,
    an answer lost on the way, the offline queue sending again) records once."""
    business_id = _record_id(business_id)
    recorded, _template, body = await _read(request, session, client, business_id)
    await service.check_photos(recorded)
    key = service.valid_key(recorded.form.get("idempotency_key"))
    if key is None:
        recorded.form.values["idempotency_key"] = service.new_key()
    if body is not None and key is not None and recorded.form.ok:
        try:
            inspection, photos_refused = await service.submit(client, session, body, recorded.photos, key)
        except Refused as refused:
            recorded.form.refused(refused.errors, SERVICE_FIELDS, service.LABELS)
        else:
            missing = f"&photos_refused={photos_refused}" if photos_refused else ""
            return RedirectResponse(
                f"/inspector/inspections/{inspection['id']}?recorded=1{missing}",
                status_code=status.HTTP_303_SEE_OTHER,
            )
    elif key is None:
        recorded.form.general.append("提交编号无效，请重新提交")
    verdict = None
    return await _checklist_page(
        request, session, client, business_id, recorded, status.HTTP_422_UNPROCESSABLE_CONTENT, verdict
    )


@router.get("/inspections/{inspection_id}")
async def inspection(request: Request, inspection_id: str, session: Inspector, client: ClientDep) -> Response:
    found = await service.inspection_of(client, session, _record_id(inspection_id))
    business = await client.get(session, "registry", f"/businesses/{found['business_id']}")
    return page(
        request,
        "inspector/inspection.html",
        inspection=found,
        business=business,
        just_recorded=request.query_params.get("recorded") == "1",
        photos_refused=request.query_params.get("photos_refused", "").isdigit(),
    )
