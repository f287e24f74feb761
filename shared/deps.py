"""Typed FastAPI dependencies shared by the services' routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from shared.auth import CurrentUser, Principal
from shared.clock import Clock
from shared.db import DEFER_COMMIT
from shared.service import ServiceRuntime


def get_runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request. GET and HEAD read through a session that never takes SQLite's
    write lock. A command's session defers its commits: its route (`shared.routing`) commits once,
    with the answer, in the endpoint's own thread, and closes the session there; what it did not
    commit is rolled back. Opening and closing here do no I/O, so they need no worker thread."""
    db = get_runtime(request).db
    if request.method in ("GET", "HEAD"):
        session = db.new_read_session()
    else:
        session = db.new_session()
        session.info[DEFER_COMMIT] = True
    try:
        yield session
    finally:
        session.close()


def get_clock(request: Request) -> Clock:
    return get_runtime(request).clock


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]

__all__ = ["ClockDep", "CurrentUser", "Principal", "RuntimeDep", "SessionDep"]
