"""The areas of the web app: one package each under services/web/, its routes in `views.py`
(thin: read the form, call the services through the client, render a template) and its templates
in `<area>/templates/<area>/`. To add an area: create the package, add its router to `ROUTERS`,
and, if it is a role's start page, put it in `START_PAGES`.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.web.ack.views import router as ack_router
from services.web.auth.views import router as auth_router
from services.web.home.views import router as home_router
from services.web.village.views import router as village_router

ROUTERS: tuple[APIRouter, ...] = (auth_router, home_router, village_router, ack_router)

START_PAGES: dict[str, str] = {
    "village": "/village",
}
"""Where each role lands after signing in; a role not listed gets the placeholder start page."""
