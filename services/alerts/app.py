"""Wiring of the alerts service (its bootstrap): spec, settings, channels, metrics and loops."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastapi import FastAPI

from services.alerts.config import AlertsConfig
from services.alerts.context import AlertsContext
from services.alerts.database import Base, infra, place_directory, register_tables
from services.alerts.escalation.api import router as escalation_router
from services.alerts.escalation.scheduler import tick
from services.alerts.handlers import EVENT_HANDLERS
from services.alerts.incidents.api import router as incidents_router
from services.alerts.links.api import router as links_router
from services.alerts.links.tokens import LinkSettings
from services.alerts.metrics import AlertsMetrics
from services.alerts.notifications.api import router as channels_router
from services.alerts.notifications.service import deliver_pending
from services.alerts.notifications.setup import build_book
from services.alerts.signals.api import router as alerts_router
from shared.auth import KnownPlaces
from shared.clock import Clock
from shared.service import BackgroundLoop, ServiceSpec, periodic
from shared.settings import Settings
from shared.web import create_app

register_tables()

SPEC = ServiceSpec(
    name="alerts",
    title="alerts",
    description="Incident response: reports, severity levels, escalation chains with durable "
    "acknowledgement deadlines, notifications (DingTalk and WeCom group robots, Alibaba Cloud and "
    "Tencent Cloud SMS, signed webhook, log) retried until acknowledged, with every attempt recorded; "
    "acknowledgement links and SMS replies; and alerts raised from registry and inspection events "
    "(de-duplicated, grouped, and suppressed while an incident explains them).",
    metadata=Base.metadata,
    infra=infra,
    migrations=Path(__file__).parent / "migrations",
    handlers=EVENT_HANDLERS,
    consumes=("registry", "inspection"),
    routers=(incidents_router, escalation_router, alerts_router, channels_router, links_router),
    # a link's token and an SMS channel's secret path component are these routes' credentials
    public_paths=("/ack/", "/sms-replies/"),
)


def loops(context: AlertsContext) -> tuple[BackgroundLoop, ...]:
    """The escalation tick (at once on start, so a deadline passed while down fires first) and the
    notification delivery poll, each at the period its setting gives."""
    return (
        periodic(
            "escalation tick",
            context.config.tick_seconds,
            lambda runtime: tick(runtime.db, runtime.clock, context.escalator),
        ),
        periodic(
            "notification delivery",
            context.config.notify_seconds,
            lambda runtime: deliver_pending(runtime.db, context.delivery, runtime.clock),
        ),
    )


def create(
    settings: Settings | None = None, clock: Clock | None = None, *, config: AlertsConfig | None = None
) -> FastAPI:
    """The app; `clock` defaults to the system clock, or to the test aid SHIAN_CLOCK_OFFSET_SECONDS
    (refused in production)."""
    config = config or AlertsConfig()
    context = AlertsContext(config=config, channels=build_book(config))
    spec = dataclasses.replace(SPEC, loops=(*SPEC.loops, *loops(context)))
    app = create_app(spec, settings, clock or config.clock())
    runtime_settings = app.state.runtime.settings
    base_url = config.public_url
    if base_url is None and runtime_settings.env != "production":  # a phone on the same network
        base_url = f"http://{runtime_settings.host}:{runtime_settings.port('alerts')}"
    context.links = LinkSettings(
        key=config.link_key(runtime_settings), base_url=base_url, minutes=config.ack_link_minutes
    )
    context.metrics = AlertsMetrics(app.state.runtime.registry)
    app.state.alerts = context
    app.state.known_places = KnownPlaces(app.state.runtime.db, place_directory)
    return app
