"""Wiring of the registry service."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastapi import FastAPI

from services.registry.banquets.api import router as banquets_router
from services.registry.businesses.api import router as businesses_router
from services.registry.config import RegistryConfig
from services.registry.database import Base, infra, register_tables
from services.registry.expiry.scheduler import expiry_loop
from services.registry.handlers import EVENT_HANDLERS
from services.registry.imports.api import router as imports_router
from services.registry.letters.api import router as letters_router
from services.registry.places.api import router as places_router
from services.registry.places.models import Place
from services.registry.staff.api import router as staff_router
from shared.auth import KnownPlaces
from shared.clock import Clock
from shared.service import ServiceSpec
from shared.settings import Settings
from shared.web import create_app

register_tables()

SPEC = ServiceSpec(
    name="registry",
    title="registry",
    description="The county's register of places, food businesses with their licences, food handlers "
    "with their health certificates, rural banquets and responsibility letters. Every change is an "
    "event on the `shian.registry` stream.",
    metadata=Base.metadata,
    infra=infra,
    migrations=Path(__file__).parent / "migrations",
    handlers=EVENT_HANDLERS,
    consumes=("inspection", "alerts"),
    routers=(places_router, businesses_router, staff_router, banquets_router, letters_router, imports_router),
)


def create(
    settings: Settings | None = None, clock: Clock | None = None, *, config: RegistryConfig | None = None
) -> FastAPI:
    """The app, with its expiry loop; tokens are checked against the registry's own places."""
    config = config or RegistryConfig()
    spec = dataclasses.replace(SPEC, loops=(expiry_loop(config.expiry_check_seconds),))
    app = create_app(spec, settings, clock)
    app.state.known_places = KnownPlaces(app.state.runtime.db, Place.__table__, id_column="id")
    return app
