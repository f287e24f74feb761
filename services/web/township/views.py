"""The township office, at a desk: the register of the township's businesses (search and filters,
a business with its licences, staff and certificates; register one, correct one)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import RedirectResponse, Response

from services.web.client import NotFound, Refused
from services.web.deps import ClientDep, role
from services.web.forms import Form
from services.web.session import WebSession
from services.web.templating import page
from services.web.township import service

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
