"""The township office, at a desk: the register of the township's businesses (search and filters,
a business with its licences, staff and certificates; register one, correct one)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import RedirectResponse, Response

from services.web.client import NotFound, Refused
from services.web.deps import ClientDep, role
from services.web.forms import Form
from services.web.labels import VOCABULARIES, now_beijing
from services.web.session import WebSession
from services.web.templating import page
from services.web.township import activities, complaints, imports, rectification, service, summary
from services.web.township.streaming import stream_file

router = APIRouter(prefix="/township")
Office = Annotated[WebSession, Depends(role("township"))]
KEY = re.compile(r"^[0-9a-f]{32}$")


def _record_id(value: str) -> str:
    """A record id from the address bar: a UUID, or the 404 page (never passed on as a path)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound() from None


def _key(data: object) -> str:
    """The form's idempotency key as rendered (a new one if it was tampered with)."""
    value = data.get("idempotency_key") if hasattr(data, "get") else None
    return value if isinstance(value, str) and KEY.match(value) else uuid.uuid4().hex


@router.get("")
async def start(request: Request, session: Office) -> Response:
    return RedirectResponse("/township/businesses", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/businesses")
async def businesses(request: Request, session: Office, client: ClientDep) -> Response:
    villages = await service.villages(client, session)
    query = service.register_query(request.query_params, villages)
    found = await service.register(
        client, session, query, service.page_number(request.query_params.get("page"))
    )
    return page(request, "township/businesses.html", register=found, villages=villages)


@router.get("/businesses/new")
async def new_business(request: Request, session: Office, client: ClientDep) -> Response:
    villages = await service.villages(client, session)
    return page(
        request,
        "township/business_form.html",
        form=Form(),
        labels=service.BUSINESS_LABELS,
        villages=villages,
        key=uuid.uuid4().hex,
        business=None,
    )


@router.post("/businesses")
async def register_business(request: Request, session: Office, client: ClientDep) -> Response:
    data = await request.form()
    form = Form.read(data, service.BUSINESS_FIELDS)
    key = _key(data)
    villages = await service.villages(client, session)
    body = service.business_body(form, villages)
    if body is not None:
        try:
            created = await client.post(session, "registry", "/businesses", body, idempotency_key=key)
        except Refused as refused:
            form.refused(refused.errors, service.BUSINESS_SERVICE_FIELDS, service.BUSINESS_LABELS)
        else:
            return RedirectResponse(
                f"/township/businesses/{created['id']}?saved=registered",
                status_code=status.HTTP_303_SEE_OTHER,
            )
    return page(
        request,
        "township/business_form.html",
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        form=form,
        labels=service.BUSINESS_LABELS,
        villages=villages,
        key=key,
        business=None,
    )


@router.get("/businesses/{business_id}")
async def business(request: Request, business_id: str, session: Office, client: ClientDep) -> Response:
    found = await service.business(client, session, _record_id(business_id))
    villages = await service.villages(client, session)
    return page(
        request,
        "township/business.html",
        business=found,
        village=villages.get(str(found.get("village_id")), "—"),
        saved=request.query_params.get("saved", ""),
    )


@router.get("/businesses/{business_id}/edit")
async def edit_business(request: Request, business_id: str, session: Office, client: ClientDep) -> Response:
    found = await client.get(session, "registry", f"/businesses/{_record_id(business_id)}")
    return page(
        request,
        "township/business_form.html",
        form=service.edit_form(found),
        labels=service.BUSINESS_LABELS,
        villages=await service.villages(client, session),
        key=uuid.uuid4().hex,
        business=found,
    )


@router.post("/businesses/{business_id}")
async def correct_business(
    request: Request, business_id: str, session: Office, client: ClientDep
) -> Response:
    path = f"/businesses/{_record_id(business_id)}"
    current = await client.get(session, "registry", path)
    data = await request.form()
    form = Form.read(data, service.EDIT_FIELDS)
    key = _key(data)
    villages = await service.villages(client, session)
    body = service.update_body(form, villages, current)
    if body == {}:
        return RedirectResponse(f"/township{path}?saved=unchanged", status_code=status.HTTP_303_SEE_OTHER)
    if body is not None:
        try:
            await client.patch(session, "registry", path, body, idempotency_key=key)
        except Refused as refused:
            form.refused(refused.errors, service.BUSINESS_SERVICE_FIELDS, service.BUSINESS_LABELS)
        else:
            return RedirectResponse(f"/township{path}?saved=corrected", status_code=status.HTTP_303_SEE_OTHER)
    return page(
        request,
        "township/business_form.html",
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        form=form,
        labels=service.BUSINESS_LABELS,
        villages=villages,
        key=key,
        business=current,
    )


# -- importing a ledger ------------------------------------------------------------------------


def _jobs(request: Request) -> imports.Jobs:
    return imports.Jobs(request.app.state.web.redis, request.app.state.settings.stream_prefix)


@router.get("/imports/new")
async def import_form(request: Request, session: Office) -> Response:
    return page(request, "township/import_form.html", problem="")


@router.post("/imports", max_body_size=imports.MAX_BYTES + 64 * 1024)
async def start_import(request: Request, session: Office, client: ClientDep) -> Response:
    """Keeps the file and hands it to a task; the browser goes at once to the page that follows it."""
    data = await request.form()
    upload = data.get("file")
    problem = ""
    fmt = imports.format_of(getattr(upload, "filename", None) or "") if upload is not None else None
    if isinstance(upload, str) or upload is None or not getattr(upload, "filename", ""):
        problem = "请选择要导入的台账文件"
    elif fmt is None:
        problem = "只能导入 CSV 或 XLSX 文件"
    else:
        try:
            source, size = await imports.spool(upload)
        except ValueError:
            problem = "文件太大，最大 32 MB"
        else:
            if size == 0:
                source.close()
                problem = "文件是空的"
    if problem or fmt is None:
        return page(
            request, "township/import_form.html", status.HTTP_422_UNPROCESSABLE_CONTENT, problem=problem
        )
    job_id = imports.new_id()
    jobs = _jobs(request)
    dry_run = data.get("dry_run") == "1"
    await jobs.save(
        job_id,
        {
            "owner": session.user.account_id,
            "format": fmt,
            "dry_run": dry_run,
            "size": size,
            "state": "uploading",
            "sent": 0,
        },
    )
    imports.start(jobs, client, session, job_id, source, size, fmt, dry_run)
    return RedirectResponse(f"/township/imports/{job_id}", status_code=status.HTTP_303_SEE_OTHER)


async def _job(request: Request, session: WebSession, job_id: str) -> dict[str, Any]:
    if not imports.JOB_ID.match(job_id):
        raise NotFound()
    job = await _jobs(request).load(job_id, session.user.account_id)
    if job is None:
        raise NotFound()
    return job


@router.get("/imports/{job_id}")
async def import_page(request: Request, job_id: str, session: Office) -> Response:
    job = await _job(request, session, job_id)
    return page(request, "township/import.html", job=job, job_id=job_id, imports=imports)


@router.get("/imports/{job_id}/status")
async def import_status(request: Request, job_id: str, session: Office) -> Response:
    """The htmx fragment the import page polls: progress until the registry has answered."""
    job = await _job(request, session, job_id)
    return page(request, "township/_import_status.html", job=job, job_id=job_id, imports=imports)


@router.get("/imports/{job_id}/rejections.csv")
async def import_rejections(request: Request, job_id: str, session: Office, client: ClientDep) -> Response:
    """Every rejected row as CSV, from the registry, passed on as it arrives."""
    job = await _job(request, session, job_id)
    import_id = (job.get("report") or {}).get("import_id")
    if not import_id:
        raise NotFound()
    return await stream_file(
        client, session, "registry", f"/imports/{_record_id(import_id)}/rejections.csv", "未导入的行.csv"
    )


# -- rectification orders ----------------------------------------------------------------------


@router.get("/rectifications")
async def rectifications(request: Request, session: Office, client: ClientDep) -> Response:
    state = request.query_params.get("state", "open")
    state = state if state in rectification.STATES or state == "all" else "open"
    number = service.page_number(request.query_params.get("page"))
    items, total, names = await rectification.orders(client, session, state, number)
    if state == "overdue":
        total = len(items)
    return page(
        request,
        "township/rectifications.html",
        orders=items,
        total=total,
        names=names,
        state=state,
        states=rectification.STATES,
        page_number=number,
        pages=max(1, -(-total // rectification.PAGE_SIZE)),
    )


@router.get("/rectifications/{order_id}")
async def rectification_order(
    request: Request, order_id: str, session: Office, client: ClientDep
) -> Response:
    found = await rectification.order(client, session, _record_id(order_id))
    return page(request, "township/rectification.html", order=found)


# -- complaints --------------------------------------------------------------------------------


@router.get("/complaints")
async def complaint_list(request: Request, session: Office, client: ClientDep) -> Response:
    status_ = request.query_params.get("status", "")
    status_ = status_ if status_ in VOCABULARIES["complaint_status"] else ""
    number = service.page_number(request.query_params.get("page"))
    items, total = await complaints.listing(client, session, status_, (number - 1) * 50, 50)
    return page(
        request,
        "township/complaints.html",
        complaints=items,
        total=total,
        status_filter=status_,
        page_number=number,
        pages=max(1, -(-total // 50)),
    )


@router.get("/complaints/new")
async def complaint_form(request: Request, session: Office, client: ClientDep) -> Response:
    return page(
        request,
        "township/complaint_form.html",
        form=Form(values={"kind": "complaint"}),
        labels=complaints.LABELS,
        businesses=await complaints.businesses(client, session),
        key=uuid.uuid4().hex,
    )


@router.post("/complaints")
async def take_in_complaint(request: Request, session: Office, client: ClientDep) -> Response:
    data = await request.form()
    form = Form.read(data, complaints.INTAKE_FIELDS)
    key = _key(data)
    known = await complaints.businesses(client, session)
    body = complaints.intake_body(form, known, now_beijing())
    if body is not None:
        try:
            created = await client.post(session, "inspection", "/complaints", body, idempotency_key=key)
        except Refused as refused:
            form.refused(refused.errors, complaints.SERVICE_FIELDS, complaints.LABELS)
        else:
            return RedirectResponse(
                f"/township/complaints/{created['id']}?saved=received", status_code=status.HTTP_303_SEE_OTHER
            )
    return page(
        request,
        "township/complaint_form.html",
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        form=form,
        labels=complaints.LABELS,
        businesses=known,
        key=key,
    )


async def _complaint_page(
    request: Request,
    session: WebSession,
    client: ClientDep,
    complaint_id: str,
    status_code: int = 200,
    refused: dict[str, Form] | None = None,
) -> Response:
    found = await client.get(session, "inspection", f"/complaints/{complaint_id}")
    complaints.mark(found, now_beijing().date())
    business = None
    if found.get("business_id"):
        try:
            business = await client.get(session, "registry", f"/businesses/{found['business_id']}")
        except NotFound:
            business = None
    forms = {"decision": Form(), "assignment": Form(), "closure": Form(), **(refused or {})}
    return page(
        request,
        "township/complaint.html",
        status_code,
        complaint=found,
        business=business,
        forms=forms,
        labels=complaints.LABELS,
        keys={step: uuid.uuid4().hex for step in STEPS},
        saved=request.query_params.get("saved", ""),
    )


@router.get("/complaints/{complaint_id}")
async def complaint(request: Request, complaint_id: str, session: Office, client: ClientDep) -> Response:
    return await _complaint_page(request, session, client, _record_id(complaint_id))


STEPS = {
    "decision": (("accept", "reason"), "decided"),
    "assignment": (("assignee",), "assigned"),
    "closure": (("result",), "closed"),
}


@router.post("/complaints/{complaint_id}/{step}")
async def complaint_step(
    request: Request, complaint_id: str, step: str, session: Office, client: ClientDep
) -> Response:
    """Accept or refuse, assign, close: one form each on the complaint's page."""
    if step not in STEPS:
        raise NotFound()
    complaint_id = _record_id(complaint_id)
    data = await request.form()
    names, saved = STEPS[step]
    form = Form.read(data, names)
    if step == "decision":
        body = complaints.decision_body(form)
    elif step == "assignment":
        body = complaints.text_body(form, "assignee", 120)
    else:
        body = complaints.text_body(form, "result", 2000)
    if body is not None:
        try:
            await client.post(
                session, "inspection", f"/complaints/{complaint_id}/{step}", body, idempotency_key=_key(data)
            )
        except Refused as refused:
            form.refused(refused.errors, complaints.SERVICE_FIELDS, complaints.LABELS)
        else:
            return RedirectResponse(
                f"/township/complaints/{complaint_id}?saved={saved}", status_code=status.HTTP_303_SEE_OTHER
            )
    return await _complaint_page(
        request, session, client, complaint_id, status.HTTP_422_UNPROCESSABLE_CONTENT, {step: form}
    )


# -- the half-year work summary ----------------------------------------------------------------


def _period(request: Request) -> str:
    return summary.period_of(request.query_params.get("period"), now_beijing().date())


def _summary_page(request: Request, period: str, form: Form, status_code: int = 200) -> Response:
    return page(
        request,
        "township/summary.html",
        status_code,
        form=form,
        labels=summary.SECTIONS,
        period=period,
        periods=summary.periods(now_beijing().date()),
        saved=request.query_params.get("saved") == "1",
    )


@router.get("/summary")
async def summary_sections(request: Request, session: Office, client: ClientDep) -> Response:
    period = _period(request)
    return _summary_page(request, period, await summary.sections(client, session, period))


@router.post("/summary")
async def save_summary(request: Request, session: Office, client: ClientDep) -> Response:
    period = _period(request)
    form = Form.read(await request.form(), tuple(summary.SECTIONS))
    body = summary.sections_body(form)
    if body is not None:
        try:
            await client.call(
                session,
                "reporting",
                "PUT",
                f"/documents/{session.user.township_id}/sections",
                params={"period": period},
                json=body,
            )
        except Refused as refused:
            form.refused(refused.errors, summary.SERVICE_FIELDS, summary.SECTIONS)
        else:
            return RedirectResponse(
                f"/township/summary?period={period}&saved=1", status_code=status.HTTP_303_SEE_OTHER
            )
    return _summary_page(request, period, form, status.HTTP_422_UNPROCESSABLE_CONTENT)


@router.get("/summary/preview")
async def preview_summary(request: Request, session: Office, client: ClientDep) -> Response:
    """The whole document with the figures filled in, as the reporting service writes it."""
    period = _period(request)
    async with client.stream(
        session,
        "reporting",
        f"/documents/{session.user.township_id}/summary",
        timeout=summary.DOCUMENT_TIMEOUT,
        period=period,
        format="html",
    ) as answer:
        html = (await answer.aread()).decode("utf-8", "replace")
    return page(
        request,
        "township/summary_preview.html",
        document=summary.preview(html),
        period=period,
        periods=summary.periods(now_beijing().date()),
    )


@router.get("/summary/download.{document_format}")
async def download_summary(
    request: Request, document_format: str, session: Office, client: ClientDep
) -> Response:
    """DOCX or PDF from the reporting service, passed on as it comes, named as it names it."""
    if document_format not in summary.FORMATS:
        raise NotFound()
    return await stream_file(
        client,
        session,
        "reporting",
        f"/documents/{session.user.township_id}/summary",
        timeout=summary.DOCUMENT_TIMEOUT,
        period=_period(request),
        format=document_format,
    )


# -- campaigns, banquets, letters, publicity, trainings ----------------------------------------


@router.get("/campaigns")
async def campaigns(request: Request, session: Office, client: ClientDep) -> Response:
    return page(request, "township/campaigns.html", campaigns=await activities.campaigns(client, session))


@router.get("/banquets")
async def banquets(request: Request, session: Office, client: ClientDep) -> Response:
    answer = await client.get(session, "registry", "/banquets", limit=100)
    villages = await service.villages(client, session)
    return page(request, "township/banquets.html", banquets=answer.get("items", []), villages=villages)


RECORDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # page: (service, path, the form's fields)
    "letters": ("registry", "/letters", activities.LETTER_FIELDS),
    "publicity": ("reporting", "/activities/publicity", activities.PUBLICITY_FIELDS),
    "trainings": ("reporting", "/activities/trainings", activities.TRAINING_FIELDS),
}


async def _records_page(
    request: Request,
    session: WebSession,
    client: ClientDep,
    kind: str,
    form: Form,
    key: str,
    status_code: int = 200,
) -> Response:
    service_name, path, _fields = RECORDS[kind]
    params: dict[str, Any] = {} if kind == "letters" else {"limit": 100}
    answer = await client.get(session, service_name, path, **params)
    items = answer if isinstance(answer, list) else answer.get("items", [])
    villages = await service.villages(client, session)
    businesses = await complaints.businesses(client, session) if kind == "letters" else {}
    return page(
        request,
        f"township/{kind}.html",
        status_code,
        items=items,
        form=form,
        labels=activities.LABELS,
        villages=villages,
        businesses=businesses,
        key=key,
        saved=request.query_params.get("saved") == "1",
    )


async def _record(request: Request, session: WebSession, client: ClientDep, kind: str) -> Response:
    service_name, path, fields = RECORDS[kind]
    data = await request.form()
    form = Form.read(data, fields)
    key = _key(data)
    villages = await service.villages(client, session)
    if kind == "letters":
        body = activities.letter_body(form, villages, await complaints.businesses(client, session))
    elif kind == "publicity":
        body = activities.publicity_body(form, villages)
    else:
        body = activities.training_body(form, villages)
    if body is not None:
        try:
            await client.post(session, service_name, path, body, idempotency_key=key)
        except Refused as refused:
            form.refused(refused.errors, activities.SERVICE_FIELDS, activities.LABELS)
        else:
            return RedirectResponse(f"/township/{kind}?saved=1", status_code=status.HTTP_303_SEE_OTHER)
    return await _records_page(
        request, session, client, kind, form, key, status.HTTP_422_UNPROCESSABLE_CONTENT
    )


@router.get("/letters")
async def letters(request: Request, session: Office, client: ClientDep) -> Response:
    form = Form(values={"year": str(now_beijing().year), "signed_on": now_beijing().date().isoformat()})
    return await _records_page(request, session, client, "letters", form, uuid.uuid4().hex)


@router.post("/letters")
async def sign_letter(request: Request, session: Office, client: ClientDep) -> Response:
    return await _record(request, session, client, "letters")


@router.get("/publicity")
async def publicity(request: Request, session: Office, client: ClientDep) -> Response:
    return await _records_page(request, session, client, "publicity", Form(), uuid.uuid4().hex)


@router.post("/publicity")
async def record_publicity(request: Request, session: Office, client: ClientDep) -> Response:
    return await _record(request, session, client, "publicity")


@router.get("/trainings")
async def trainings(request: Request, session: Office, client: ClientDep) -> Response:
    return await _records_page(request, session, client, "trainings", Form(), uuid.uuid4().hex)


@router.post("/trainings")
async def record_training(request: Request, session: Office, client: ClientDep) -> Response:
    return await _record(request, session, client, "trainings")
