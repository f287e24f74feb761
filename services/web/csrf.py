"""Cross-site request forgery: every unsafe request carries a token bound to the browser's cookie.

The token is HMAC-SHA256(signing key, cookie id): nothing to store, different for every browser,
and new at sign-in (a new cookie id). Forms carry it in a hidden `csrf_token` field; htmx requests
in the `X-CSRF-Token` header (static/app.js reads it from `<meta name="csrf-token">`). A browser
without a cookie gets one with its first page, so the sign-in form is protected too. Every POST,
PUT, PATCH and DELETE of the app is checked (an app-wide dependency) before its route runs,
except those under `EXEMPT_PREFIXES`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import Request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD = "csrf_token"
HEADER = "x-csrf-token"
# Paths whose unsafe requests are not checked. `/ack/`: a message's acknowledgement link
# (services/web/ack/), posted from a phone that has no session here; its single-use token in the
# URL is the credential, so a forged cross-site POST gains nothing an attacker holding the link lacks.
EXEMPT_PREFIXES = ("/ack/",)


class CsrfRefused(Exception):
    """An unsafe request without the right token: answered 403 with a Chinese page."""


def token_for(key: str, cookie_id: str) -> str:
    digest = hmac.new(key.encode(), f"csrf:{cookie_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def check(request: Request) -> None:
    """The app-wide dependency: refuses an unsafe request whose token does not match its cookie."""
    if request.method in SAFE_METHODS or request.url.path.startswith(EXEMPT_PREFIXES):
        return
    web = request.app.state.web
    cookie = web.cookie_id(request)
    presented = request.headers.get(HEADER)
    if presented is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # cached on the request: the route reads the same form
            value = form.get(FIELD)
            presented = value if isinstance(value, str) else None
    if not cookie or not presented or not hmac.compare_digest(presented, token_for(web.key, cookie)):
        raise CsrfRefused()
