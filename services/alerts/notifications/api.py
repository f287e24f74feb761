"""HTTP: the notification channels a county office configures (robots, SMS accounts, webhooks).

County users only. A GET never shows a secret in full (its last four characters at most); a PUT
may leave secrets out to keep the stored ones."""

from __future__ import annotations

from fastapi import Response, status

from services.alerts.context import ContextDep
from services.alerts.notifications import setup as channels
from services.alerts.notifications.models import ChannelBody, ChannelRead
from shared.deps import ClockDep, CurrentUser, SessionDep
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/notification-channels", tags=["notification channels"])


@router.get("", response_model=list[ChannelRead], summary="The county's channels, secrets masked")
def list_channels(session: SessionDep, user: CurrentUser):
    return [channels.read(setup) for setup in channels.list_channels(session, user)]


@router.get("/{name}", response_model=ChannelRead, summary="One channel, secrets masked")
def get_channel(name: str, session: SessionDep, user: CurrentUser):
    return channels.read(channels.get_channel(session, user, name))


@router.put(
    "/{name}", response_model=ChannelRead, summary="Configure a DingTalk, WeCom, SMS or webhook channel"
)
def put_channel(
    name: str, body: ChannelBody, session: SessionDep, user: CurrentUser, clock: ClockDep, context: ContextDep
):
    """Steps name the channel in their `channels`; it takes effect at the next delivery."""
    setup = channels.put_channel(
        session=session, principal=user, name=name, body=body, clock=clock, config=context.config
    )
    return channels.read(setup)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a channel")
def delete_channel(name: str, session: SessionDep, user: CurrentUser, clock: ClockDep):
    channels.delete_channel(session=session, principal=user, name=name, clock=clock)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
