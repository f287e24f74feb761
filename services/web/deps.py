"""What a view asks for: the signed-in session, the client, a role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from services.web.client import NotAllowed, ServiceClient, SignInRequired
from services.web.session import WebSession


async def signed_in(request: Request) -> WebSession:
    """The browser's web session; none (or an expired one): back to the sign-in page."""
    web = request.app.state.web
    cookie = web.cookie_id(request)
    session = await web.store.load(cookie) if cookie else None
    if session is None:
        raise SignInRequired()
    request.state.session = session
    return session


def client(request: Request) -> ServiceClient:
    return request.app.state.web.client


def role(*roles: str) -> Callable[[WebSession], Awaitable[WebSession]]:
    """A dependency: the session of a user with one of `roles`; anyone else gets the 403 page."""

    async def check(session: Annotated[WebSession, Depends(signed_in)]) -> WebSession:
        if session.user.role not in roles:
            raise NotAllowed()
        return session

    return check


SessionDep = Annotated[WebSession, Depends(signed_in)]
ClientDep = Annotated[ServiceClient, Depends(client)]
