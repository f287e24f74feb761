"""The read-only dashboard for county and township users, served as HTML by the reporting service.

Signing in takes the same bearer token as the API (from a form, or once in `?token=`), checks it
and keeps it in an HttpOnly, SameSite=Strict cookie scoped to /dashboard; the token then leaves the
address bar. Every page reads through the same scoping as the API (404 outside the user's place).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import parse_qs, urlencode

import jwt
from fastapi import Depends, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from services.reporting.dashboard import service as dashboard
from services.reporting.documents import api as documents_api
from services.reporting.documents import service as documents
from services.reporting.documents import writer
from services.reporting.statistics import periods
from services.reporting.statistics import service as statistics
from services.reporting.statistics.scope import READERS, home_place, resolve_scope
from shared.auth import Principal, knows_place, verify_bearer
from shared.clock import local_today
from shared.deps import ClockDep, SessionDep
from shared.routing import ServiceRouter

if TYPE_CHECKING:
    from jinja2 import Environment

router = ServiceRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)

COOKIE = "shian_dashboard"
TEMPLATES = Path(__file__).parent / "templates"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


@cache
def _templates() -> Environment:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))


def page(template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    body = _templates().get_template(template).render(**context)
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def _principal(request: Request, token: str) -> Principal | None:
    try:
        principal = verify_bearer(request.app, token)
    except jwt.InvalidTokenError:
        return None
    if not knows_place(request, principal):  # a token for a place not defined signs nobody in
        return None
    return principal if principal.role in READERS else None


def signed_in(request: Request) -> Principal:
    token = request.cookies.get(COOKIE)
    principal = _principal(request, token) if token else None
    if principal is None:  # a page, not an API: send the browser to the sign-in form
        raise HTTPException(
            status.HTTP_303_SEE_OTHER, "sign in first", headers={"Location": "/dashboard/login"}
        )
    return principal


DashboardUser = Annotated[Principal, Depends(signed_in)]


def _sign_in(request: Request, token: str) -> Response:
    principal = _principal(request, token)
    if principal is None:
        return page("login.html.j2", status.HTTP_401_UNAUTHORIZED, error="令牌无效、已过期或无权查看")
    claims = jwt.decode(token, options={"verify_signature": False})
    max_age = max(int(claims["exp"] - datetime.now(UTC).timestamp()), 0)
    response = RedirectResponse("/dashboard", status_code=status.HTTP_303_SEE_OTHER, headers=SECURITY_HEADERS)
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path="/dashboard",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login")
def login_form() -> HTMLResponse:
    return page("login.html.j2", error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    # in a worker thread: checking the token may fetch identity's keys, and reads the places
    return await run_in_threadpool(_sign_in, request, (form.get("token") or [""])[0].strip())


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/dashboard/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


def _query(place_id: str, period: periods.Period) -> str:
    return urlencode({"place": place_id, **period.query()})


@router.get("")
def home(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    token: Annotated[str | None, Query(max_length=4000)] = None,
    place: Annotated[str | None, Query(max_length=40)] = None,
    period: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    if token is not None:
        return _sign_in(request, token)
    user = signed_in(request)
    today = local_today(clock)
    scope = resolve_scope(session, user, place or home_place(user))
    wanted = (periods.parse_period(period) if period else dashboard.current_half(today)).at(today)
    board = dashboard.board(session, scope, wanted, today)
    figures = board.statistics.figures
    return page(
        "dashboard.html.j2",
        user=user,
        scope=scope,
        period=wanted,
        today=today,
        board=board,
        key_figures=[figures[key] for key in dashboard.KEY_FIGURES],
        townships=scope.townships(session) if scope.level == "county" else [],
        query=_query(scope.place_id, wanted),
        previous=_query(scope.place_id, wanted.previous()),
        can_summarise=scope.level != "village",
    )


@router.get("/records/{key}")
def records(
    key: str,
    session: SessionDep,
    user: DashboardUser,
    clock: ClockDep,
    place: Annotated[str, Query(max_length=40)],
    period: Annotated[str, Query(max_length=20)],
    group: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    scope = resolve_scope(session, user, place)
    wanted = periods.parse_period(period).at(local_today(clock))
    found = statistics.records(session, key=key, scope=scope, period=wanted, group=group, limit=500)
    return page("records.html.j2", scope=scope, period=wanted, page=found, back=_query(place, wanted))


@router.get("/summary.{document_format}")
def summary(
    document_format: Literal["html", "docx", "pdf"],
    session: SessionDep,
    user: DashboardUser,
    clock: ClockDep,
    place: Annotated[str, Query(max_length=40)],
    period: Annotated[str, Query(max_length=20)],
) -> Response:
    scope = documents_api.summary_scope(resolve_scope(session, user, place))
    wanted = periods.parse_period(period).at(local_today(clock))
    document = writer.write(documents.collect(session, scope, wanted))
    response = documents_api.rendered(document_format, document)
    response.headers.update({k: v for k, v in SECURITY_HEADERS.items() if k != "Content-Security-Policy"})
    return response
