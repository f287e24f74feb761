"""Journey 1: the village coordinator, on a phone. Report an incident in one form and see its
level and who was notified; file a banquet with a live hint (late? guidance due?); see the
village's own incidents and banquets."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import RedirectResponse, Response

from services.web.client import NotFound, Refused
from services.web.deps import ClientDep, role
from services.web.forms import Form
from services.web.labels import now_beijing
from services.web.session import WebSession
from services.web.templating import page
from services.web.village import service

router = APIRouter(prefix="/village")
Coordinator = Annotated[WebSession, Depends(role("village"))]
INCIDENT_SERVICE_FIELDS = {name: name for name in service.INCIDENT_FIELDS}


def _record_id(value: str) -> str:
    """A record id from the address bar: a UUID, or the 404 page (never passed on as a path)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound() from None


@router.get("")
async def start(request: Request, session: Coordinator, client: ClientDep) -> Response:
    incidents, banquets = await service.village_records(client, session)
    return page(request, "village/start.html", incidents=incidents, banquets=banquets)


@router.get("/incidents/new")
async def report_form(request: Request, session: Coordinator) -> Response:
    form = Form(values={"ill_count": "", "hospitalised_count": "0", "death_count": "0"})
    return page(request, "village/report.html", form=form, labels=service.INCIDENT_LABELS)


@router.post("/incidents")
async def report(request: Request, session: Coordinator, client: ClientDep) -> Response:
    form = Form.read(await request.form(), service.INCIDENT_FIELDS)
    user = session.user
    body = service.incident_body(form, user.township_id or "", user.village_id or "", now_beijing())
    if body is not None:
        try:
            incident = await client.post(session, "alerts", "/incidents", body)
        except Refused as refused:
            form.refused(refused.errors, INCIDENT_SERVICE_FIELDS, service.INCIDENT_LABELS)
        else:
            return RedirectResponse(
                f"/village/incidents/{incident['id']}?reported=1", status_code=status.HTTP_303_SEE_OTHER
            )
    return page(
        request,
        "village/report.html",
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        form=form,
        labels=service.INCIDENT_LABELS,
    )


@router.get("/incidents/{incident_id}")
async def incident(request: Request, incident_id: str, session: Coordinator, client: ClientDep) -> Response:
    found, timeline, notifications = await service.incident_with_notifications(
        client, session, _record_id(incident_id)
    )
    return page(
        request,
        "village/incident.html",
        incident=found,
        timeline=timeline,
        notified=service.who_was_notified(timeline, notifications),
        just_reported=request.query_params.get("reported") == "1",
    )


@router.get("/banquets/new")
async def banquet_form(request: Request, session: Coordinator) -> Response:
    return page(request, "village/banquet_form.html", form=Form(), labels=service.BANQUET_LABELS, hint=None)


@router.get("/banquets/hint")
async def banquet_hint(request: Request, session: Coordinator, client: ClientDep) -> Response:
    """The htmx fragment under the banquet form: filing needed, late, guidance due."""
    query = request.query_params
    hint = await service.banquet_hint(
        client,
        session,
        occasion=query.get("occasion", ""),
        held_on=query.get("held_on", ""),
        people=query.get("people", ""),
        tables=query.get("tables", ""),
    )
    return page(request, "village/_banquet_hint.html", hint=hint)


@router.post("/banquets")
async def file_banquet(request: Request, session: Coordinator, client: ClientDep) -> Response:
    form = Form.read(await request.form(), service.BANQUET_FIELDS)
    body = service.banquet_body(form, session.user.village_id or "")
    if body is not None:
        try:
            banquet = await client.post(session, "registry", "/banquets", body)
        except Refused as refused:
            form.refused(refused.errors, service.BANQUET_SERVICE_FIELDS, service.BANQUET_LABELS)
        else:
            return RedirectResponse(
                f"/village/banquets/{banquet['id']}?filed=1", status_code=status.HTTP_303_SEE_OTHER
            )
    hint = await service.banquet_hint(
        client,
        session,
        occasion=form.get("occasion"),
        held_on=form.get("held_on"),
        people=form.get("people"),
        tables=form.get("tables"),
    )
    return page(
        request,
        "village/banquet_form.html",
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        form=form,
        labels=service.BANQUET_LABELS,
        hint=hint,
    )


@router.get("/banquets/{banquet_id}")
async def banquet(request: Request, banquet_id: str, session: Coordinator, client: ClientDep) -> Response:
    found = await client.get(session, "registry", f"/banquets/{_record_id(banquet_id)}")
    return page(
        request, "village/banquet.html", banquet=found, just_filed=request.query_params.get("filed") == "1"
    )
