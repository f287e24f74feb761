"""The start page: each role lands on its own (services/web/areas.py START_PAGES)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response

from services.web.deps import SessionDep
from services.web.templating import page

router = APIRouter()

COMING: dict[str, list[str]] = {
    "county": ["全县事件处置与逐级上报", "各乡镇统计与半年工作总结", "系统运行状况"],
    "township": ["经营主体登记与台账导入", "整改、投诉、专项整治与宴席管理", "本乡镇统计汇总"],
    "inspector": ["今日检查任务", "检查表填写（可离线）", "整改复查"],
    "ops": ["各服务运行状况", "死信与重放", "监控指标"],
    "village": [],
}


@router.get("/")
async def home(request: Request, session: SessionDep) -> Response:
    from services.web.areas import START_PAGES

    start = START_PAGES.get(session.user.role)
    if start:
        return RedirectResponse(start, status_code=status.HTTP_303_SEE_OTHER)
    return page(request, "home/start.html", coming=COMING.get(session.user.role, []))
