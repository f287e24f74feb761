"""Wiring of the reporting service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.reporting.database import Base, infra
from services.reporting.handlers import EVENT_HANDLERS
from services.reporting.summaries.api import router as summaries_router
from shared.clock import Clock
from shared.service import ServiceSpec
from shared.settings import Settings
from shared.web import create_app

SPEC = ServiceSpec(
    name="reporting",
    title="reporting",
    description="Read models built from every service's events: statistics and summaries.",
    metadata=Base.metadata,
    infra=infra,
    migrations=Path(__file__).parent / "migrations",
    handlers=EVENT_HANDLERS,
    consumes=("registry", "inspection", "alerts"),
    routers=(summaries_router,),
)


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_app(SPEC, settings, clock)
