"""`/ack/{incident}/{token}`: the page behind every escalation message's link, relayed to alerts.

alerts renders the page (the incident in Chinese, a confirm button that posts to this same URL)
and decides everything: the link's token is the credential, checked there, single use there. The
web app only carries the exchange, so that a phone reaches one origin, and passes on alerts'
status (404 not genuine, 410 used or expired, 409 already acknowledged, 403 step passed) and its
strict page headers: a CSP that allows the page's inline style and no script, `no-store`, and
`Referrer-Policy: no-referrer`, as the token is in the URL. No session, no cookie is set.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response

from services.web.client import NotFound, Unavailable

router = APIRouter()

# alerts' own shapes of the two path parts; anything else is not a link alerts made
INCIDENT = re.compile(r"[0-9a-fA-F-]{8,36}")
TOKEN = re.compile(r"[A-Za-z0-9_.-]{3,60}")
# alerts' headers the phone gets as alerts sent them (the rest come from the web app's own)
PASSED_ON = (
    "content-type",
    "content-security-policy",
    "cache-control",
    "referrer-policy",
    "x-frame-options",
    "x-content-type-options",
)
PAGE_STATUSES = frozenset({200, 403, 404, 409, 410})


async def _relay(request: Request, incident: str, token: str) -> Response:
    if not INCIDENT.fullmatch(incident) or not TOKEN.fullmatch(token):
        raise NotFound()
    answer = await request.app.state.web.client.relay(
        "alerts", request.method, f"/ack/{incident}/{token}", logged="/ack/{incident}/{token}"
    )
    html = answer.headers.get("content-type", "").startswith("text/html")
    if answer.status_code not in PAGE_STATUSES or not html:
        if answer.status_code in (404, 422):
            raise NotFound()
        raise Unavailable("alerts", f"HTTP {answer.status_code} ({answer.headers.get('content-type')})")
    headers = {name: answer.headers[name] for name in PASSED_ON if name in answer.headers}
    headers["cache-control"] = "no-store"
    headers["referrer-policy"] = "no-referrer"
    return Response(answer.content, status_code=answer.status_code, headers=headers)


@router.get("/ack/{incident}/{token}", include_in_schema=False)
async def ack_page(request: Request, incident: str, token: str) -> Response:
    """The incident and a confirm button; never acknowledges (chat apps fetch links to preview)."""
    return await _relay(request, incident, token)


@router.post("/ack/{incident}/{token}", include_in_schema=False)
async def ack_confirm(request: Request, incident: str, token: str) -> Response:
    """The button: acknowledges as the link's recipient. Exempt from the CSRF check (csrf.py):
    there is no session to ride, and a forged cross-site POST needs the single-use token in the
    URL, which is all an attacker would need to acknowledge directly."""
    return await _relay(request, incident, token)
