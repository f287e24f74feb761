"""The areas of the web app: one package each under services/web/, its routes in `views.py`
(thin: read the form, call the services through the client, render a template) and its templates
in `<area>/templates/<area>/`. To add an area: create the package, add its router to `ROUTERS`,
and, if it is a role's start page, put it in `START_PAGES`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import APIRouter, FastAPI

from services.web.ack.views import router as ack_router
from services.web.auth.views import router as auth_router
from services.web.county.views import accounts as accounts_router
from services.web.county.views import passwords as passwords_router
from services.web.county.views import router as county_router
from services.web.home.views import router as home_router
from services.web.incidents import live as incidents_live
from services.web.incidents.views import router as incidents_router
from services.web.inspector.views import router as inspector_router
from services.web.ops.views import router as ops_router
from services.web.township.views import router as township_router
from services.web.village.views import router as village_router

ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    home_router,
    village_router,
    township_router,
    inspector_router,
    incidents_router,
    county_router,
    accounts_router,
    passwords_router,
    ops_router,
    ack_router,
)

LIFESPANS: tuple[Callable[[FastAPI], AbstractAsyncContextManager[None]], ...] = (incidents_live.running,)
"""An area's background work for as long as the app runs (the console's live updates)."""

NAV: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("/incidents", "事件处置", frozenset({"county", "township"})),
)
"""Links in every page's header: (address, words, the roles that see it)."""

START_PAGES: dict[str, str] = {
    "village": "/village",
    "inspector": "/inspector",
    "county": "/county",
    "ops": "/ops",
    "township": "/township",
}
"""Where each role lands after signing in; a role not listed gets the placeholder start page."""
