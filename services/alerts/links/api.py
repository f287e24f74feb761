"""HTTP: the acknowledgement page behind each message's link, and the SMS reply callbacks.

These are the only alerts routes without a bearer token: the link's token, or the secret path
component of a county's SMS channel, is the credential. Served by the alerts service until the web
app takes the page over.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from services.alerts.context import ContextDep, EscalatorDep
from services.alerts.links import page
from services.alerts.links import service as links
from services.alerts.links.tokens import LinkRefused
from services.alerts.notifications.models import ChannelSetup
from shared.deps import ClockDep, SessionDep
from shared.errors import NotFound
from shared.routing import ServiceRouter

router = ServiceRouter(tags=["acknowledgement links"])

Token = Annotated[str, Path(min_length=3, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")]
Ref = Annotated[
    str,
    Path(
        min_length=8,
        max_length=36,
        pattern=r"^[0-9a-fA-F-]+$",
        description="The incident id or its first 8 digits",
    ),
]


def _refused(refused: LinkRefused) -> Any:
    return page.render("无法确认", [refused.message], status_code=refused.status)


@router.get(
    "/ack/{incident}/{token}",
    summary="The acknowledgement page of a message's link (Chinese, for phones)",
    response_class=page.HTMLResponse,
)
def ack_page(incident: Ref, token: Token, session: SessionDep, clock: ClockDep, context: ContextDep):
    """Shows the incident and a confirm button; never acknowledges (chat apps fetch links to
    preview them). 404 for a link that is not genuine or not this incident's, 410 expired or used."""
    assert context.links is not None
    try:
        found = links.view(session, context.links, incident, token, clock.now())
    except LinkRefused as refused:
        return _refused(refused)
    if found.refusal is not None:
        return page.render(
            found.title, [*found.lines, found.refusal.message], status_code=found.refusal.status
        )
    return page.render(
        found.title, found.lines, confirm=True, note="确认后，上级将不再收到升级通知。本链接仅能使用一次。"
    )


@router.post(
    "/ack/{incident}/{token}",
    summary="Acknowledge through a message's link (single use)",
    response_class=page.HTMLResponse,
)
def ack_confirm(
    incident: Ref,
    token: Token,
    session: SessionDep,
    clock: ClockDep,
    context: ContextDep,
    escalator: EscalatorDep,
):
    """Acknowledges as the link's recipient: 200 and a thank-you page; 403 when the escalation has
    passed the recipient's step; 409 already acknowledged; 404 not genuine; 410 expired or used."""
    assert context.links is not None
    try:
        acknowledged = links.acknowledge(session, context.links, incident, token, clock.now(), escalator)
    except LinkRefused as refused:
        return _refused(refused)
    return page.render(
        "已确认",
        [
            "已确认收到，升级通知已停止。",
            f"事故编号：{str(acknowledged.id)[:8]}",
            "请尽快组织处置，并在系统中报告进展。",
        ],
    )


class TencentReply(BaseModel):
    """Tencent Cloud SMS's reply callback (回复短信回调), one reply per request."""

    model_config = ConfigDict(extra="ignore")

    mobile: str = Field(max_length=20)
    nationcode: str = Field(default="86", max_length=6)
    text: str = Field(max_length=500)
    sign: str | None = Field(default=None, max_length=40)
    time: int | None = None
    extend: str | None = Field(default=None, max_length=40)


class AliyunReply(BaseModel):
    """One entry of Alibaba Cloud SMS's SmsUp push (上行短信消息), a batch per request."""

    model_config = ConfigDict(extra="ignore")

    phone_number: str = Field(max_length=20)
    content: str = Field(max_length=500)
    send_time: str | None = Field(default=None, max_length=30)
    sign_name: str | None = Field(default=None, max_length=40)
    dest_code: str | None = Field(default=None, max_length=40)
    sequence_id: int | None = None


Secret = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]


@router.post(
    "/sms-replies/tencent/{county_id}/{channel}/{secret}", summary="Tencent Cloud SMS reply callback"
)
def tencent_reply(
    county_id: str,
    channel: str,
    secret: Secret,
    body: TencentReply,
    session: SessionDep,
    clock: ClockDep,
    escalator: EscalatorDep,
) -> dict[str, Any]:
    """A reply of `1` acknowledges the newest open link sent to that number. Authenticated by the
    channel's `reply_secret` as a path component (Tencent Cloud signs no callback); 404 otherwise.
    Answers `{"result": 0, "errmsg": "OK"}` as Tencent Cloud expects, whatever the reply said."""
    setup = _reply_channel(session, county_id, channel, secret, "tencent_sms")
    links.on_reply(session, setup, mobile=body.mobile, text=body.text, now=clock.now(), escalator=escalator)
    return {"result": 0, "errmsg": "OK"}


@router.post("/sms-replies/aliyun/{county_id}/{channel}/{secret}", summary="Alibaba Cloud SMS reply push")
def aliyun_reply(
    county_id: str,
    channel: str,
    secret: Secret,
    body: Annotated[list[AliyunReply], Field(max_length=100)],
    session: SessionDep,
    clock: ClockDep,
    escalator: EscalatorDep,
) -> dict[str, Any]:
    """Alibaba Cloud pushes replies in batches (HTTP 批量推送 of SmsUp); authenticated by the
    channel's `reply_secret` path component. Answers `{"code": 0, "msg": "成功"}`."""
    setup = _reply_channel(session, county_id, channel, secret, "aliyun_sms")
    for reply in body:
        links.on_reply(
            session,
            setup,
            mobile=reply.phone_number,
            text=reply.content,
            now=clock.now(),
            escalator=escalator,
        )
    return {"code": 0, "msg": "成功"}


def _reply_channel(session: Session, county_id: str, channel: str, secret: str, kind: str) -> ChannelSetup:
    try:
        setup = links.reply_channel(session, county_id, channel, secret)
    except LinkRefused:
        raise NotFound() from None
    if setup.kind != kind:
        raise NotFound()
    return setup
