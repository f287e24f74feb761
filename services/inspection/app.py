"""Wiring of the inspection service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.inspection.database import Base, infra
from services.inspection.directory.api import router as directory_router
from services.inspection.handlers import EVENT_HANDLERS
from shared.clock import Clock
from shared.service import ServiceSpec
from shared.settings import Settings
from shared.web import create_app

SPEC = ServiceSpec(
    name="inspection",
    title="inspection",
    description="Inspections, grades, rectification, campaigns, complaints and plans. Keeps a business "
    "directory built from registry events.",
    metadata=Base.metadata,
    infra=infra,
    migrations=Path(__file__).parent / "migrations",
    handlers=EVENT_HANDLERS,
    consumes=("registry",),
    routers=(directory_router,),
)


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_app(SPEC, settings, clock)
