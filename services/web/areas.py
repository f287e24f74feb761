"""The areas of the web app: one package each under services/web/, its routes in `views.py`
(thin: read the form, call the services through the client, render a template) and its templates
in `<area>/templates/<area>/`. To add an area: create the package, add its router to `ROUTERS`,
and, if it is a role's start page, put it in `START_PAGES`.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.web.auth.views import router as auth_router
from services.web.county.views import accounts as accounts_router
from services.web.county.views import passwords as passwords_router
from services.web.county.views import router as county_router
from services.web.home.views import router as home_router
from services.web.ops.views import router as ops_router
from services.web.village.views import router as village_router

ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    home_router,
    village_router,
    county_router,
    accounts_router,
    passwords_router,
    ops_router,
)

START_PAGES: dict[str, str] = {
    "village": "/village",
    "county": "/county",
    "ops": "/ops",
}
"""Where each role lands after signing in; a role not listed gets the placeholder start page."""
