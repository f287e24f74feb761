"""Wiring of the alerts service (its bootstrap): spec, settings, channels, metrics and loops."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
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
from services.alerts.notifications.service import BATCH, deliver_pending
from services.alerts.notifications.setup import build_book
from services.alerts.signals.api import router as alerts_router
from shared.auth import KnownPlaces
from shared.clock import Clock
from shared.service import BackgroundLoop, ServiceRuntime, ServiceSpec, periodic
from shared.settings import Settings
from shared.web import create_app

register_tables()
log = logging.getLogger("shian.alerts")

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
        delivery_loop(context),
    )


def delivery_loop(context: AlertsContext) -> BackgroundLoop:
    """Notification delivery: every `notify_seconds`, and at once after a commit that emitted
    events (an escalation writes its notifications with its `incident.escalated`), so a message
    leaves within milliseconds of the decision instead of up to a poll later. A full batch is
    followed by the next at once."""

    async def loop(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        wake = asyncio.Event()
        if context.config.notify_on_commit:
            running = asyncio.get_running_loop()

            def committed() -> None:  # called in the committing thread
                running.call_soon_threadsafe(wake.set)

            runtime.db.on_events_committed.append(committed)
        while not stop.is_set():
            wake.clear()
            try:
                run = await asyncio.to_thread(deliver_pending, runtime.db, context.delivery, runtime.clock)
            except Exception:
                log.exception(
                    "notification delivery failed; trying again in %.0f s", context.config.notify_seconds
                )
                run = None
            if run is not None and run.delivered + run.failed + run.cancelled >= BATCH:
                continue
            waiting = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
            await asyncio.wait(
                waiting, timeout=context.config.notify_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for task in waiting:
                task.cancel()

    loop.__name__ = loop.__qualname__ = "notification delivery"
    return loop


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
