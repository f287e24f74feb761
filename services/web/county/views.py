"""The county office (and a township office for its own township): the overview of figures with
a drill-down to every township and to the records behind each figure, the escalation chains, the
accounts of the people, and the map. Desktop pages."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import RedirectResponse, Response

from services.web.client import NotAllowed, NotFound, Refused
from services.web.county import service
from services.web.deps import ClientDep, role
from services.web.forms import Form
from services.web.session import WebSession
from services.web.templating import page

router = APIRouter(prefix="/county")
accounts = APIRouter(prefix="/accounts")
passwords = APIRouter()

Office = Annotated[WebSession, Depends(role("county", "township"))]
CountyOffice = Annotated[WebSession, Depends(role("county"))]
ACCOUNT_SERVICE_FIELDS = {name: name for name in service.ACCOUNT_FIELDS}
PASSWORD_SERVICE_FIELDS = {"mobile": "mobile", "code": "code", "password": "password"}


def _record_id(value: str) -> str:
    """A record id from the address bar: a UUID, or the 404 page (never passed on as a path)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound() from None


def _place_id(value: str) -> str:
    if not value or len(value) > 40 or not all(c.isalnum() or c in "._-" for c in value):
        raise NotFound()
    return value


def _home_place(session: WebSession) -> str:
    return (
        session.user.township_id
        if session.user.role == "township" and session.user.township_id
        else session.user.county_id
    )


def _form_key() -> str:
    return str(uuid.uuid4())


# -- overview and drill-down ------------------------------------------------------------------------


@router.get("")
async def overview(request: Request, session: Office, client: ClientDep) -> Response:
    return await _overview(request, session, client, _home_place(session))


@router.get("/places/{place_id}")
async def place_overview(request: Request, place_id: str, session: Office, client: ClientDep) -> Response:
    return await _overview(request, session, client, _place_id(place_id))


async def _overview(request: Request, session: WebSession, client: ClientDep, place_id: str) -> Response:
    period = service.period_or_none(request.query_params.get("period"))
    found = await service.overview(client, session, place_id, period)
    return page(
        request,
        "county/overview.html",
        board=found,
        place_id=place_id,
        period=period,
        # reporting's own read-only dashboard, kept for now (services/reporting/dashboard/)
        dashboard_url=f"{client.urls['reporting']}/dashboard",
    )


@router.get("/places/{place_id}/records/{key}")
async def records(request: Request, place_id: str, key: str, session: Office, client: ClientDep) -> Response:
    if not service.FIGURE_KEY.match(key) or len(key) > 60:
        raise NotFound()
    period = service.period_or_none(request.query_params.get("period"))
    try:
        offset = max(0, min(int(request.query_params.get("offset", "0")), 100_000))
    except ValueError:
        offset = 0
    try:
        found = await service.figure_records(client, session, _place_id(place_id), key, period, offset)
    except Refused:  # reporting has no such figure
        raise NotFound() from None
    names = {place["id"]: place.get("name", "") for place in await service.places(client, session)}
    return page(
        request,
        "county/records.html",
        found=found,
        place_id=place_id,
        period=period,
        offset=offset,
        place_names=names,
    )


# -- the map ----------------------------------------------------------------------------------------


@router.get("/map")
async def county_map(request: Request, session: Office, client: ClientDep) -> Response:
    drawn = await service.county_map(client, session)
    return page(request, "county/map.html", drawn=drawn)


# -- escalation chains --------------------------------------------------------------------------------


@router.get("/policies")
async def policies(request: Request, session: CountyOffice, client: ClientDep) -> Response:
    towns = service.townships_of(await service.places(client, session))
    return page(request, "county/policies.html", townships=towns)


async def _scope_name(client: ClientDep, session: WebSession, scope_id: str) -> str:
    for place in await service.places(client, session):
        if place.get("id") == scope_id and place.get("level") in ("county", "township"):
            return str(place.get("name", ""))
    raise NotFound()


@router.get("/policies/{scope_id}")
async def policy(request: Request, scope_id: str, session: CountyOffice, client: ClientDep) -> Response:
    scope_id = _place_id(scope_id)
    name = await _scope_name(client, session, scope_id)
    current = await client.get(session, "alerts", f"/escalation/policies/{scope_id}")
    form, rows = service.policy_form(current)
    return page(
        request,
        "county/policy.html",
        form=form,
        rows=rows,
        policy=current,
        scope_id=scope_id,
        scope_name=name,
        labels=service.POLICY_LABELS,
        saved=request.query_params.get("saved") == "1",
        key=_form_key(),
    )


@router.post("/policies/{scope_id}")
async def save_policy(request: Request, scope_id: str, session: CountyOffice, client: ClientDep) -> Response:
    scope_id = _place_id(scope_id)
    name = await _scope_name(client, session, scope_id)
    data = await request.form()
    rows = service.posted_rows(list(data.keys()))
    form = Form.read(data, service.policy_field_names(rows))
    key = str(data.get("key") or "") or _form_key()
    body = service.policy_body(form, rows)
    if body is not None:
        try:
            await client.put(session, "alerts", f"/escalation/policies/{scope_id}", body, idempotency_key=key)
        except Refused as refused:
            service.policy_refused(form, refused.errors)
        else:
            return RedirectResponse(
                f"/county/policies/{scope_id}?saved=1", status_code=status.HTTP_303_SEE_OTHER
            )
    current = await client.get(session, "alerts", f"/escalation/policies/{scope_id}")
    return page(
        request,
        "county/policy.html",
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        form=form,
        rows=max(rows, 1),
        policy=current,
        scope_id=scope_id,
        scope_name=name,
        labels=service.POLICY_LABELS,
        saved=False,
        key=key,
    )


# -- notification channels -----------------------------------------------------------------------------


def _channel_name(value: str) -> str:
    if not service.CHANNEL_NAME.match(value):
        raise NotFound()
    return value


def _channel_page(
    request: Request, form: Form, found: dict[str, object] | None, status_code: int = 200
) -> Response:
    return page(
        request,
        "county/channel.html",
        status_code,
        form=form,
        channel=found,
        labels=service.CHANNEL_LABELS,
        kinds=service.CHANNEL_KINDS,
        fields=service.CHANNEL_FIELDS,
        templates=service.TEMPLATE_KINDS,
        sms_kinds=service.SMS_KINDS,
        saved=request.query_params.get("saved") == "1",
    )


@router.get("/channels")
async def channels(request: Request, session: CountyOffice, client: ClientDep) -> Response:
    found = await client.get(session, "alerts", "/notification-channels")
    return page(
        request, "county/channels.html", channels=found, removed=request.query_params.get("removed", "")
    )


@router.get("/channels/new")
async def channel_new(request: Request, session: CountyOffice) -> Response:
    kind = request.query_params.get("kind", "")
    return _channel_page(request, Form(values={"kind": kind if kind in service.CHANNEL_KINDS else ""}), None)


@router.post("/channels")
async def channel_create(request: Request, session: CountyOffice, client: ClientDep) -> Response:
    form = Form.read(await request.form(), service.CHANNEL_FORM_FIELDS)
    body = service.channel_body(form, new=True)
    if body is not None:
        try:
            await client.get(session, "alerts", f"/notification-channels/{form.get('name')}")
        except NotFound:
            pass
        else:  # a PUT would overwrite it: a new channel needs a name of its own
            form.error("name", "已经存在，请换一个名称，或打开它修改")
            body = None
    if body is not None:
        return await _put_channel(request, session, client, form, body, None)
    return _channel_page(request, _without_secrets(form), None, status.HTTP_422_UNPROCESSABLE_CONTENT)


@router.get("/channels/{name}")
async def channel(request: Request, name: str, session: CountyOffice, client: ClientDep) -> Response:
    found = await client.get(session, "alerts", f"/notification-channels/{_channel_name(name)}")
    if found.get("kind") not in service.CHANNEL_KINDS:
        raise NotFound()
    return _channel_page(request, service.channel_form(found), found)


@router.post("/channels/{name}")
async def channel_change(request: Request, name: str, session: CountyOffice, client: ClientDep) -> Response:
    found = await client.get(session, "alerts", f"/notification-channels/{_channel_name(name)}")
    if found.get("kind") not in service.CHANNEL_KINDS:
        raise NotFound()
    form = Form.read(await request.form(), service.CHANNEL_FORM_FIELDS)
    form.values["name"], form.values["kind"] = name, str(found["kind"])  # a channel keeps its kind
    body = service.channel_body(form, new=False)
    if body is not None:
        return await _put_channel(request, session, client, form, body, found)
    return _channel_page(request, _without_secrets(form), found, status.HTTP_422_UNPROCESSABLE_CONTENT)


@router.post("/channels/{name}/delete")
async def channel_delete(request: Request, name: str, session: CountyOffice, client: ClientDep) -> Response:
    await client.delete(session, "alerts", f"/notification-channels/{_channel_name(name)}")
    return RedirectResponse(f"/county/channels?removed={name}", status_code=status.HTTP_303_SEE_OTHER)


def _without_secrets(form: Form) -> Form:
    """A secret typed is never sent back in a page, not even to its author."""
    for fields in service.CHANNEL_FIELDS.values():
        for field_name, secret in fields:
            if secret:
                form.values[field_name] = ""
    return form


async def _put_channel(
    request: Request,
    session: WebSession,
    client: ClientDep,
    form: Form,
    body: dict[str, object],
    found: dict[str, object] | None,
) -> Response:
    name = form.get("name")
    try:
        await client.put(session, "alerts", f"/notification-channels/{name}", body)
    except Refused as refused:
        service.channel_refused(form, refused.errors)
        return _channel_page(request, _without_secrets(form), found, status.HTTP_422_UNPROCESSABLE_CONTENT)
    return RedirectResponse(f"/county/channels/{name}?saved=1", status_code=status.HTTP_303_SEE_OTHER)


# -- accounts (the county office, and a township office for its own township) ----------------------


async def _account_page(
    request: Request,
    session: WebSession,
    client: ClientDep,
    template: str,
    status_code: int = 200,
    **context: object,
) -> Response:
    all_places = await service.places(client, session)
    towns = service.townships_of(all_places)
    if session.user.role == "township":
        towns = [town for town in towns if town["id"] == session.user.township_id]
    villages = [
        place
        for place in service.villages_of(all_places)
        if any(t["id"] == place.get("township_id") for t in towns)
    ]
    roles = {code: code for code in service.GRANTABLE.get(session.user.role, ())}
    return page(
        request,
        template,
        status_code,
        townships=towns,
        villages=villages,
        roles=roles,
        place_names={place["id"]: place.get("name", "") for place in all_places},
        labels=service.ACCOUNT_LABELS,
        **context,
    )


@accounts.get("")
async def account_list(request: Request, session: Office, client: ClientDep) -> Response:
    query = request.query_params
    wanted_role = query.get("role") if query.get("role") in service.GRANTABLE["county"] else None
    wanted_status = query.get("status") if query.get("status") in ("pending", "active", "disabled") else None
    found = await client.get(
        session, "identity", "/accounts", role=wanted_role, status=wanted_status, limit=500
    )
    return await _account_page(
        request,
        session,
        client,
        "county/accounts.html",
        found=found,
        wanted_role=wanted_role or "",
        wanted_status=wanted_status or "",
    )


@accounts.get("/new")
async def account_form(request: Request, session: Office, client: ClientDep) -> Response:
    return await _account_page(
        request, session, client, "county/account_form.html", form=Form(), account=None, key=_form_key()
    )


@accounts.post("")
async def create_account(request: Request, session: Office, client: ClientDep) -> Response:
    data = await request.form()
    form = Form.read(data, service.ACCOUNT_FIELDS)
    key = str(data.get("key") or "") or _form_key()
    body = service.account_body(form, session.user.role, session.user.township_id)
    if body is not None:
        try:
            issued = await client.post(session, "identity", "/accounts", body, idempotency_key=key)
        except Refused as refused:
            form.refused(refused.errors, ACCOUNT_SERVICE_FIELDS, service.ACCOUNT_LABELS)
        else:
            # the one-time code is on this answer only: never in an address, never stored here
            return await _account_page(
                request, session, client, "county/account_issued.html", issued=issued, created=True
            )
    return await _account_page(
        request,
        session,
        client,
        "county/account_form.html",
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        form=form,
        account=None,
        key=key,
    )


@accounts.get("/{account_id}")
async def account(request: Request, account_id: str, session: Office, client: ClientDep) -> Response:
    found = await client.get(session, "identity", f"/accounts/{_record_id(account_id)}")
    form = Form(values={name: str(found.get(name) or "") for name in service.ACCOUNT_FIELDS})
    return await _account_page(
        request,
        session,
        client,
        "county/account_form.html",
        form=form,
        account=found,
        key=_form_key(),
        changed=request.query_params.get("changed", ""),
    )


@accounts.post("/{account_id}")
async def change_account(request: Request, account_id: str, session: Office, client: ClientDep) -> Response:
    account_id = _record_id(account_id)
    form = Form.read(await request.form(), service.ACCOUNT_FIELDS)
    body = service.account_body(form, session.user.role, session.user.township_id)
    if body is not None:
        try:
            await client.patch(session, "identity", f"/accounts/{account_id}", body)
        except Refused as refused:
            form.refused(refused.errors, ACCOUNT_SERVICE_FIELDS, service.ACCOUNT_LABELS)
        else:
            return RedirectResponse(
                f"/accounts/{account_id}?changed=saved", status_code=status.HTTP_303_SEE_OTHER
            )
    found = await client.get(session, "identity", f"/accounts/{account_id}")
    return await _account_page(
        request,
        session,
        client,
        "county/account_form.html",
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        form=form,
        account=found,
        key=_form_key(),
        changed="",
    )


@accounts.post("/{account_id}/{action}")
async def account_action(
    request: Request, account_id: str, action: str, session: Office, client: ClientDep
) -> Response:
    """Disable, re-enable, or reset the password (a new one-time code, shown once)."""
    account_id = _record_id(account_id)
    if action not in ("disable", "enable", "reset"):
        raise NotFound()
    answer = await client.post(session, "identity", f"/accounts/{account_id}/{action}", {})
    if action == "reset":
        return await _account_page(
            request, session, client, "county/account_issued.html", issued=answer, created=False
        )
    return RedirectResponse(f"/accounts/{account_id}?changed={action}", status_code=status.HTTP_303_SEE_OTHER)


# -- setting a password with the one-time code (no session: the person has no password yet) --------


@passwords.get("/password")
async def password_form(request: Request) -> Response:
    return page(request, "county/password.html", form=Form(), labels=service.PASSWORD_LABELS)


@passwords.post("/password")
async def set_password(request: Request) -> Response:
    form = Form.read(await request.form(), service.PASSWORD_FIELDS)
    body = service.password_check(form)
    if body is not None:
        client = request.app.state.web.client
        try:
            await client.set_password_with_code(body["mobile"], body["code"], body["password"])
        except Refused as refused:
            form.refused(refused.errors, PASSWORD_SERVICE_FIELDS, service.PASSWORD_LABELS)
        except NotAllowed:
            form.error("code", "手机号与验证码不匹配，或验证码已过期、已用过")
        else:
            return RedirectResponse("/signin?password=set", status_code=status.HTTP_303_SEE_OTHER)
    form.values["password"] = form.values["password_again"] = ""  # a password is never sent back
    return page(
        request,
        "county/password.html",
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        form=form,
        labels=service.PASSWORD_LABELS,
    )
