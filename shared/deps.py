"""Typed FastAPI dependencies shared by the services' routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from shared.auth import CurrentUser, Principal
from shared.clock import Clock
from shared.service import ServiceRuntime


def get_runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


def get_session(request: Request) -> Iterator[Session]:
    """A session per request; commands commit explicitly, anything uncommitted rolls back.

    GET and HEAD requests read through a session that never takes SQLite's write lock."""
    db = get_runtime(request).db
    opened = db.read_session() if request.method in ("GET", "HEAD") else db.session()
    with opened as session:
        yield session


def get_clock(request: Request) -> Clock:
    return get_runtime(request).clock


SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]

__all__ = ["ClockDep", "CurrentUser", "Principal", "RuntimeDep", "SessionDep"]
