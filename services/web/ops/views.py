"""Operations: the bus and the services at a glance (what `shian status` shows) and the dead
letters with a replay button. The ops role only; anyone else gets the 403 page, the replay too."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import RedirectResponse, Response

from services.web.client import NotFound
from services.web.deps import role
from services.web.ops import service
from services.web.session import WebSession
from services.web.templating import page

router = APIRouter(prefix="/ops")
Operator = Annotated[WebSession, Depends(role("ops"))]
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


@router.get("")
async def overview(request: Request, session: Operator) -> Response:
    web = request.app.state.web
    found = await service.board(web.redis, web.settings, web.client.urls)
    return page(
        request,
        "ops/status.html",
        board=found,
        seconds=service.format_seconds,
        replayed=request.query_params.get("replayed", ""),
    )


@router.post("/deadletters/{letter_id}/replay")
async def replay(request: Request, letter_id: str, session: Operator) -> Response:
    if not STREAM_ID.match(letter_id):
        raise NotFound()
    web = request.app.state.web
    if not await service.replay(web.redis, web.settings, letter_id, session.user.account_id):
        return RedirectResponse("/ops?replayed=gone", status_code=status.HTTP_303_SEE_OTHER)
    return RedirectResponse("/ops?replayed=ok", status_code=status.HTTP_303_SEE_OTHER)
