"""Signing in (mobile number and password, checked by identity) and out."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response

from services.web import session as web_session
from services.web.deps import ClientDep
from services.web.forms import Form
from services.web.templating import page

router = APIRouter()
LABELS = {"mobile": "手机号", "password": "密码"}
WRONG = "手机号或密码不正确。连续输错 5 次，账号将被锁定 15 分钟。"


def _too_many(retry_after: int | None) -> str:
    wait = f"{max(1, (retry_after + 59) // 60)} 分钟" if retry_after else "一会儿"
    return f"尝试次数太多，请等 {wait}后再试。"


@router.get("/signin")
async def sign_in_page(request: Request) -> Response:
    web = request.app.state.web
    cookie = web.cookie_id(request)
    if cookie and await web.store.load(cookie):
        return RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    return page(request, "auth/signin.html", form=Form(), labels=LABELS)


@router.post("/signin")
async def sign_in(request: Request, client: ClientDep) -> Response:
    web = request.app.state.web
    data = await request.form()
    form = Form.read(data, ("mobile",))
    password = data.get("password")
    password = password if isinstance(password, str) else ""
    form.required("mobile")
    if not password:
        form.error("password", "必须填写")
    if not form.ok:
        return page(
            request, "auth/signin.html", status.HTTP_422_UNPROCESSABLE_CONTENT, form=form, labels=LABELS
        )
    address = request.client.host if request.client else "unknown"
    wait = await web.signin_limiter.allow(address)
    if wait is not None:
        form.general.append(_too_many(wait))
        return page(request, "auth/signin.html", status.HTTP_429_TOO_MANY_REQUESTS, form=form, labels=LABELS)
    outcome = await client.sign_in(form.get("mobile"), password, address=address)
    if outcome.session is None:
        form.general.append(_too_many(outcome.retry_after) if outcome.refusal == "too_many" else WRONG)
        code = (
            status.HTTP_429_TOO_MANY_REQUESTS
            if outcome.refusal == "too_many"
            else status.HTTP_401_UNAUTHORIZED
        )
        return page(request, "auth/signin.html", code, form=form, labels=LABELS)
    signed = outcome.session
    signed.id = web_session.new_id()  # a new id at sign-in: an id planted before is worth nothing
    old = web.cookie_id(request)
    if old:
        await web.store.delete(old)
    await web.store.save(signed)
    response = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    web_session.set_cookie(response, signed.id, secure=web.secure)
    return response


@router.post("/signout")
async def sign_out(request: Request, client: ClientDep) -> Response:
    web = request.app.state.web
    cookie = web.cookie_id(request)
    current = await web.store.load(cookie) if cookie else None
    if current is not None:
        await web.store.delete(current.id)
        await client.sign_out(current)
    response = RedirectResponse("/signin", status_code=status.HTTP_303_SEE_OTHER)
    web_session.clear_cookie(response, secure=web.secure)
    return response
