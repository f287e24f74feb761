"""Jinja2 pages: one environment over the shared templates and every area's own.

Shared templates (the layout, the error pages, form macros) live in services/web/templates/; an
area's in services/web/<area>/templates/<area>/, named `<area>/<page>.html`, so areas never
clash. Every page gets the CSRF token, the signed-in user and the Chinese filters (`zh`,
`beijing`); pages are answered `no-store` (they hold personal data) with the security headers of
the whole app (services/web/app.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from services.web import labels

HERE = Path(__file__).parent
STATIC_VERSION = "3"  # bump when a static file changes: the URLs carry it, so caches refresh


def template_dirs() -> list[Path]:
    return [HERE / "templates", *sorted(path for path in HERE.glob("*/templates") if path.is_dir())]


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(path) for path in template_dirs()]),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["zh"] = labels.zh
    env.filters["beijing"] = labels.beijing
    env.globals["vocabulary"] = lambda name: labels.VOCABULARIES.get(name, {})
    env.globals["static_version"] = STATIC_VERSION
    env.globals["nav_links"] = _nav_links
    return env


def _nav_links(user: Any) -> list[tuple[str, str]]:
    from services.web.areas import NAV

    role = getattr(user, "role", None)
    return [(href, words) for href, words, roles in NAV if role in roles]


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` for this request; sets the browser's cookie id first if it had none."""
    web = request.app.state.web
    cookie_id = web.ensure_cookie_id(request)
    session = getattr(request.state, "session", None)
    body = (
        environment()
        .get_template(template)
        .render(
            request=request,
            csrf_token=web.csrf_token(cookie_id),
            user=session.user if session is not None else None,
            path=request.url.path,
            **context,
        )
    )
    response = HTMLResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})
    web.set_pending_cookie(request, response)
    return response
