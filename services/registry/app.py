"""Wiring of the registry service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.registry.businesses.api import router as businesses_router
from services.registry.database import Base, infra
from services.registry.places.api import router as places_router
from shared.clock import Clock
from shared.service import ServiceSpec
from shared.settings import Settings
from shared.web import create_app

SPEC = ServiceSpec(
    name="registry",
    title="registry",
    description="The county's register of places and food businesses. Every change is an event on "
    "the `shian.registry` stream.",
    metadata=Base.metadata,
    infra=infra,
    migrations=Path(__file__).parent / "migrations",
    routers=(places_router, businesses_router),
)


def create(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_app(SPEC, settings, clock)
