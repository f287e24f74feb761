"""Running one service as its own process: migrate, then serve HTTP and the bus with uvicorn."""

from __future__ import annotations

import importlib

import uvicorn

from shared.logging import configure_logging
from shared.migrations import upgrade
from shared.service import ServiceSpec
from shared.settings import DATA_SERVICES, SERVICE_NAMES, get_settings


def load_spec(service: str) -> ServiceSpec:
    """The spec of a service with a database (the web process has none)."""
    if service not in DATA_SERVICES:
        raise ValueError(f"unknown service {service!r}; choose from {', '.join(DATA_SERVICES)}")
    return importlib.import_module(f"services.{service}.app").SPEC


def migrate(service: str) -> None:
    settings = get_settings()
    upgrade(load_spec(service).migrations, settings.database_url(service))


def run_service(service: str, *, port: int | None = None, migrate_first: bool = True) -> None:
    settings = get_settings()
    if service not in SERVICE_NAMES:
        raise ValueError(f"unknown service {service!r}; choose from {', '.join(SERVICE_NAMES)}")
    configure_logging(service, level=settings.log_level, json=settings.log_json)
    if migrate_first and service in DATA_SERVICES:
        migrate(service)
    app = importlib.import_module(f"services.{service}.app").create(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=port or settings.port(service),
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        # X-Forwarded-For is the app's to read, from SHIAN_TRUSTED_PROXIES only
        # (shared.admission.ForwardedFor); uvicorn's own default would believe any local peer
        proxy_headers=False,
    )
