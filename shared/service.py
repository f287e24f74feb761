"""What every service is made of, and the runtime that runs its background work.

A service declares a `ServiceSpec`: its name, metadata, which streams it consumes and with which
handlers, its HTTP routers and any extra loops (schedulers). `ServiceRuntime` owns the database,
the bus connection, the outbox relay and one consumer per consumed stream, and stops them cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from fastapi import APIRouter
from prometheus_client import CollectorRegistry

from shared.bus import REDIS_DOWN, Bus, StreamConsumer
from shared.clock import SYSTEM_CLOCK, Clock
from shared.db import Database, InfraTables
from shared.inbox import HandlerMap, InboxProcessor
from shared.metrics import BusMetrics
from shared.outbox import OutboxRelay
from shared.settings import Settings

log = logging.getLogger("shian.service")

BackgroundLoop = Callable[["ServiceRuntime", asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    description: str
    metadata: sa.MetaData
    infra: InfraTables
    migrations: Path
    handlers: HandlerMap = field(default_factory=dict)
    consumes: Sequence[str] = ()  # producing services whose streams this service reads
    routers: Sequence[APIRouter] = ()
    loops: Sequence[BackgroundLoop] = ()


class ServiceRuntime:
    """A running service's database, bus, relay and consumers."""

    def __init__(self, spec: ServiceSpec, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.spec = spec
        self.settings = settings
        self.clock = clock
        self.registry = CollectorRegistry()
        self.metrics = BusMetrics(self.registry)
        self.db = Database(
            settings.database_url(spec.name),
            infra=spec.infra,
            stream=settings.stream(spec.name),
            service=spec.name,
        )
        self.bus = Bus(settings, spec.name, self.registry)
        self.processor = InboxProcessor(self.db, spec.name, spec.handlers)
        self.relay = OutboxRelay(self.db, self.bus, settings, self.metrics)
        self.consumers: list[StreamConsumer] = []
        self.redis_ready = False
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._stop = asyncio.Event()
        self._tasks = [asyncio.create_task(self._run_bus(), name=f"{self.spec.name}-bus")]
        for loop in self.spec.loops:
            self._tasks.append(asyncio.create_task(loop(self, self._stop)))

    async def _run_bus(self) -> None:
        """Connect (retrying while Redis is away), then run the relay and the consumers."""
        backoff = 0.2
        while not self._stop.is_set():
            try:
                redis = await self.bus.connect()
                await redis.ping()
                break
            except REDIS_DOWN as error:
                log.warning("%s cannot reach Redis yet (%s)", self.spec.name, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, 5.0)
        else:
            return
        self.redis_ready = True
        self.consumers = [
            StreamConsumer(
                redis=self.bus.redis,
                stream=self.settings.stream(producer),
                group=self.spec.name,
                processor=self.processor,
                settings=self.settings,
                metrics=self.metrics,
                service=self.spec.name,
            )
            for producer in self.spec.consumes
        ]
        workers = [self.relay.run(self._stop)] + [c.run(self._stop) for c in self.consumers]
        await asyncio.gather(*workers)

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                log.exception("background task ended with an error")
        await self.bus.close()
        self.db.dispose()

    async def ready(self) -> dict[str, str]:
        """Readiness facts: database and Redis reachable."""
        checks: dict[str, str] = {}
        try:
            await asyncio.to_thread(self.db.ping)
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"error: {error}"
        try:
            redis = await self.bus.connect()
            await asyncio.wait_for(redis.ping(), timeout=2)
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"error: {error}"
        return checks
