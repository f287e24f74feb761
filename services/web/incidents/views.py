"""Journey 4: the responder's incident console (township and county offices; a desk or a phone).

Open incidents by level and age, updated without reload from the alerts stream (`live.py`); one
incident with its actions (acknowledge, progress, note, counts, close with the cause), its
timeline, and every notification with each attempt and its retry state.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import RedirectResponse, Response

from services.web.client import NotAllowed, Refused, ServiceClient
from services.web.deps import ClientDep, role
from services.web.forms import Form
from services.web.incidents import live, service
from services.web.incidents.service import LABELS, RESPONDER_ROLES, SERVICE_FIELDS
from services.web.session import WebSession
from services.web.templating import page

router = APIRouter(prefix="/incidents")
Responder = Annotated[WebSession, Depends(role(*RESPONDER_ROLES))]
ACTIONS = ("acknowledge", "progress", "note", "counts", "close")
DONE = {
    "acknowledge": "已确认响应。",
    "progress": "处置进展已更新。",
    "note": "备注已添加。",
    "counts": "人数已更新。",
    "close": "事件已结案。",
}


@router.get("")
async def console(request: Request, session: Responder, client: ClientDep) -> Response:
    rows = await service.open_incidents(client, session)
    return page(
        request,
        "incidents/console.html",
        rows=rows,
        stream_after=await live.stream_position(request),
        server_now=live.now_ms(),
        live_url="/incidents/stream",
    )


@router.get("/stream")
async def stream(request: Request, session: Responder) -> Response:
    """Server-sent events: each change of an incident the responder sees, as its row."""
    return await live.events(request, session)


@router.get("/{incident_id}")
async def incident(request: Request, incident_id: str, session: Responder, client: ClientDep) -> Response:
    return await _detail_page(request, session, client, service.record_id(incident_id))


@router.get("/{incident_id}/live")
async def incident_live(
    request: Request, incident_id: str, session: Responder, client: ClientDep
) -> Response:
    """The parts of the incident page that change on their own (htmx fragment): its summary, the
    timeline and the notifications; the forms stay as the responder is typing them."""
    found = await service.detail(client, session, service.record_id(incident_id))
    return page(
        request,
        "incidents/_live.html",
        **found,
        retrying=service.retrying(found["notifications"]),
        server_now=live.now_ms(),
    )


async def _detail_page(
    request: Request,
    session: WebSession,
    client: ServiceClient,
    incident_id: str,
    *,
    failed: str | None = None,
    form: Form | None = None,
    status_code: int = 200,
) -> Response:
    found = await service.detail(client, session, incident_id)
    forms: dict[str, Form] = {}
    for action in ACTIONS:
        forms[action] = Form(values={"idempotency_key": service.new_key()})
    counts = forms["counts"].values
    counts.update({key: str(found["incident"].get(key, "")) for key in service.COUNT_FIELDS[:3]})
    if failed is not None and form is not None:
        forms[failed] = form
    done = request.query_params.get("done")
    return page(
        request,
        "incidents/incident.html",
        status_code,
        **found,
        forms=forms,
        labels=LABELS,
        done=DONE.get(done or ""),
        retrying=service.retrying(found["notifications"]),
        stream_after=await live.stream_position(request),
        server_now=live.now_ms(),
        live_url=f"/incidents/stream?incident={incident_id}",
    )


async def _command(
    request: Request,
    session: WebSession,
    client: ClientDep,
    incident_id: str,
    action: str,
    names: tuple[str, ...],
    body_of: Any,
    method: str = "POST",
    path: str | None = None,
) -> Response:
    """Read the action's form, send it with the form's Idempotency-Key, then back to the incident;
    refused: the page again with the form as typed and the reason on its field, in Chinese."""
    incident_id = service.record_id(incident_id)
    posted = await request.form()
    form = Form.read(posted, names)
    key = service.form_key(form, posted)
    body = body_of(form)
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    if body is not None:
        target = f"/incidents/{incident_id}/{path or action}"
        try:
            if method == "PATCH":
                await client.patch(session, "alerts", target, body, idempotency_key=key)
            else:
                await client.post(session, "alerts", target, body, idempotency_key=key)
        except Refused as refused:
            form.refused(refused.errors, SERVICE_FIELDS, LABELS)
            if refused.status == status.HTTP_409_CONFLICT:
                status_code = status.HTTP_409_CONFLICT
                form.general[:] = ["事件状态已变化（可能已被他人处理），请查看最新情况"]
        except NotAllowed:
            status_code = status.HTTP_403_FORBIDDEN
            form.general.append("事件已逐级上报，应由当前通知的上级部门处理")
        else:
            return RedirectResponse(
                f"/incidents/{incident_id}?done={action}#timeline", status_code=status.HTTP_303_SEE_OTHER
            )
    return await _detail_page(
        request, session, client, incident_id, failed=action, form=form, status_code=status_code
    )


def _acknowledge_body(form: Form) -> dict[str, Any] | None:
    note = service.text_field(form, "note", required=False, limit=2000)
    return {"note": note} if form.ok else None


def _progress_body(form: Form) -> dict[str, Any] | None:
    if form.get("status") not in ("responding", "contained"):
        form.error("status", "请从选项中选择")
    note = service.text_field(form, "note", required=False, limit=2000)
    return {"status": form.get("status"), "note": note} if form.ok else None


def _note_body(form: Form) -> dict[str, Any] | None:
    text = service.text_field(form, "text", required=True, limit=4000)
    return {"text": text} if form.ok else None


def _close_body(form: Form) -> dict[str, Any] | None:
    cause = service.text_field(form, "cause", required=True, limit=2000)
    note = service.text_field(form, "note", required=False, limit=2000)
    return {"cause": cause, "note": note} if form.ok else None


@router.post("/{incident_id}/acknowledge")
async def acknowledge(request: Request, incident_id: str, session: Responder, client: ClientDep) -> Response:
    return await _command(request, session, client, incident_id, "acknowledge", ("note",), _acknowledge_body)


@router.post("/{incident_id}/progress")
async def progress(request: Request, incident_id: str, session: Responder, client: ClientDep) -> Response:
    names = ("status", "note")
    return await _command(request, session, client, incident_id, "progress", names, _progress_body)


@router.post("/{incident_id}/notes")
async def note(request: Request, incident_id: str, session: Responder, client: ClientDep) -> Response:
    return await _command(request, session, client, incident_id, "note", ("text",), _note_body, path="notes")


@router.post("/{incident_id}/counts")
async def counts(request: Request, incident_id: str, session: Responder, client: ClientDep) -> Response:
    return await _command(
        request,
        session,
        client,
        incident_id,
        "counts",
        service.COUNT_FIELDS,
        service.counts_body,
        method="PATCH",
    )


@router.post("/{incident_id}/close")
async def close(request: Request, incident_id: str, session: Responder, client: ClientDep) -> Response:
    return await _command(request, session, client, incident_id, "close", ("cause", "note"), _close_body)
