"""Wiring of the alerts service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.alerts.database import Base, infra
from services.alerts.handlers import EVENT_HANDLERS
from services.alerts.incidents.api import router as incidents_router
from shared.clock import Clock
from shared.service import ServiceSpec
from shared.settings import Settings
from shared.web import create_app

SPEC = ServiceSpec(
    name="alerts",
    title="alerts",
    description="Incident response: reports, severity levels, escalation and acknowledgement.",
    metadata=Base.metadata,
    infra=infra,
    migrations=Path(__file__).parent / "migrations",
    handlers=EVENT_HANDLERS,
    consumes=("registry",),
    routers=(incidents_router,),
)


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_app(SPEC, settings, clock)
