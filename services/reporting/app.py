"""Wiring of the reporting service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.reporting.activities.api import router as activities_router
from services.reporting.dashboard.api import router as dashboard_router
from services.reporting.database import Base, infra, place_directory, register_tables
from services.reporting.documents.api import router as documents_router
from services.reporting.export.api import router as export_router
from services.reporting.handlers import CONSUMES, EVENT_HANDLERS
from services.reporting.statistics.api import router as statistics_router
from services.reporting.summaries.api import router as summaries_router
from shared.auth import KnownPlaces
from shared.clock import Clock
from shared.service import ServiceSpec
from shared.settings import Settings
from shared.web import create_app

register_tables()

SPEC = ServiceSpec(
    name="reporting",
    title="reporting",
    description="Read models built from every service's events (and an archive to rebuild them from): "
    "statistics per village, township and county for any period, each figure linked to its records; "
    "publicity, trainings and village assessments; the half-year work summary as HTML, DOCX and PDF; "
    "open-data export in the LIVES shape; a read-only dashboard.",
    metadata=Base.metadata,
    infra=infra,
    migrations=Path(__file__).parent / "migrations",
    handlers=EVENT_HANDLERS,
    consumes=CONSUMES,
    routers=(
        summaries_router,
        statistics_router,
        activities_router,
        documents_router,
        export_router,
        dashboard_router,
    ),
    public_paths=("/dashboard",),  # the dashboard signs in with a cookie, checked by its own routes
)


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """The app; tokens are checked against the places projected from `place.defined`."""
    app = create_app(SPEC, settings, clock)
    app.state.known_places = KnownPlaces(app.state.runtime.db, place_directory)
    return app
