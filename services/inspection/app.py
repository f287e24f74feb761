"""Wiring of the inspection service."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastapi import FastAPI

from services.inspection.campaigns.api import router as campaigns_router
from services.inspection.checklists.api import router as checklists_router
from services.inspection.complaints.api import router as complaints_router
from services.inspection.config import InspectionConfig
from services.inspection.database import Base, infra, place_directory, register_tables
from services.inspection.directory.api import router as directory_router
from services.inspection.handlers import EVENT_HANDLERS
from services.inspection.inspections.api import router as inspections_router
from services.inspection.plans.api import router as plans_router
from services.inspection.rectification.api import router as rectification_router
from services.inspection.scheduler import deadline_loop
from shared.auth import KnownPlaces
from shared.clock import Clock
from shared.service import ServiceSpec
from shared.settings import Settings
from shared.web import create_app

register_tables()

SPEC = ServiceSpec(
    name="inspection",
    title="inspection",
    description="Checklists, inspections with their outcome, action, score and dynamic grade, "
    "rectification orders with durable deadlines, referrals to the police, campaigns, complaints "
    "with working-day deadlines, plans, worklists and grading coverage. Keeps a business directory "
    "built from registry events; an incident naming a business opens an urgent inspection task.",
    metadata=Base.metadata,
    infra=infra,
    migrations=Path(__file__).parent / "migrations",
    handlers=EVENT_HANDLERS,
    consumes=("registry", "alerts"),
    routers=(
        directory_router,
        checklists_router,
        inspections_router,
        rectification_router,
        complaints_router,
        campaigns_router,
        plans_router,
    ),
)


def create(
    settings: Settings | None = None, clock: Clock | None = None, *, config: InspectionConfig | None = None
) -> FastAPI:
    """The app, with its deadline scheduler reporting the supervision gauges on the runtime's
    registry."""
    config = config or InspectionConfig()
    spec = dataclasses.replace(SPEC, loops=(*SPEC.loops, deadline_loop(config)))
    app = create_app(spec, settings, clock)
    app.state.inspection_config = config
    app.state.known_places = KnownPlaces(app.state.runtime.db, place_directory)
    return app
