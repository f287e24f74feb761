"""What every service is made of, and the runtime that runs its background work.

A service declares a `ServiceSpec`: its name, metadata, which streams it consumes and with which
handlers, its HTTP routers and any extra loops (schedulers). `ServiceRuntime` owns the database,
the bus connection, the outbox relay and one consumer per consumed stream, and stops them cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from prometheus_client import CollectorRegistry

from shared import idempotency
from shared.bus import REDIS_DOWN, Bus, StreamConsumer, decode_entry, read_reply
from shared.clock import SYSTEM_CLOCK, Clock
from shared.db import Database, InfraTables
from shared.inbox import HandlerMap, InboxProcessor
from shared.metrics import BusMetrics
from shared.outbox import OutboxRelay
from shared.settings import Settings
from shared.tokens import RevokedSessions

log = logging.getLogger("shian.service")
IDEMPOTENCY_SWEEP_SECONDS = 3600.0
IDENTITY = "identity"
REVOKED_TYPE = "session.revoked"
REVOCATION_REPLAY_SECONDS = 2 * 3600.0
"""How far back a starting service reads identity's stream for `session.revoked`: a revoked
session's tokens are refused until `until`, at most an access token's life (an hour at most, by
identity's settings) and the clock skew after the revocation; twice that covers clocks that differ."""

REVOCATION_PURGE_SECONDS = 60.0
"""How often a service drops the revoked sessions past their `until` (as it follows the stream)."""

BackgroundLoop = Callable[["ServiceRuntime", asyncio.Event], Coroutine[Any, Any, None]]


def periodic(
    name: str, every: float | Callable[[ServiceRuntime], float], work: Callable[[ServiceRuntime], object]
) -> BackgroundLoop:
    """A background loop that calls `work(runtime)` in a worker thread at start and then every
    `every` seconds (a number, or read from the runtime's settings) until the service stops. A
    failing run is logged and the next one comes on time: schedulers claim their rows, so a run
    that is repeated or cut short never acts twice."""

    async def loop(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        seconds = every(runtime) if callable(every) else every
        while not stop.is_set():
            try:
                await asyncio.to_thread(work, runtime)
            except Exception:
                log.exception("%s failed; trying again in %.0f s", name, seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

    loop.__name__ = loop.__qualname__ = name
    return loop


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
    public_paths: tuple[str, ...] = ()  # path prefixes whose bodies need no bearer token
    public_commands: frozenset[str] = frozenset()  # exact paths whose bodies need no bearer token
    # bodies need identity's own token (ES256/EdDSA): `shian token`'s HS256 is refused even outside
    # production (identity, whose routes take no other token)
    identity_tokens_only: bool = False


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
            pool_size=settings.http_concurrency + 8,  # HTTP slots, the relay, consumers, schedulers
            clock=clock,
        )
        self.bus = Bus(settings, spec.name, self.registry)
        self.processor = InboxProcessor(self.db, spec.name, spec.handlers)
        self.relay = OutboxRelay(self.db, self.bus, settings, self.metrics)
        self.consumers: list[StreamConsumer] = []
        # the sessions identity ended, whose tokens this service refuses (shared.auth.verify_token)
        self.revoked = RevokedSessions(clock)
        self.revocations_read = 0  # session.revoked events applied (tests, readiness)
        # the read-back of identity's stream reached its end (identity itself needs none)
        self.revocations_caught_up = spec.name == IDENTITY
        self._revocations_purged_at = float("-inf")
        self.redis_ready = False
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._stop = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._run_bus(), name=f"{self.spec.name}-bus"),
            asyncio.create_task(self._forget_old_answers(), name=f"{self.spec.name}-idempotency"),
        ]
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
        if self.spec.name != IDENTITY:
            workers.append(self._follow_revocations())
        await asyncio.gather(*workers)

    async def _follow_revocations(self) -> None:
        """Keep `self.revoked` from identity's `session.revoked` events, in every process.

        Read with XREAD, not in the service's consumer group: a group hands each entry to one
        replica, and every replica must refuse a revoked session. Nothing is persisted: at start
        the stream is read back `REVOCATION_REPLAY_SECONDS` (any revocation whose tokens may still
        be valid is in that window), then followed as it grows; after Redis was away, reading goes
        on from the last entry seen. The read-back does not wait (no BLOCK): once it reaches the end
        the service says it is ready (`ready`), so a restarted process is not sent requests while
        it still takes a session signed out during its absence for an open one."""
        stream = self.settings.stream(IDENTITY)
        since_ms = int((time.time() - REVOCATION_REPLAY_SECONDS) * 1000)
        last = f"{max(since_ms, 0)}-0"
        backoff = 0.2
        while not self._stop.is_set():
            try:
                block = self.settings.block_ms if self.revocations_caught_up else None
                answer = await self.bus.redis.xread(
                    {stream: last}, count=self.settings.batch_size, block=block
                )
                backoff = 0.2
            except REDIS_DOWN as error:
                log.warning("%s cannot read %s for revocations (%s)", self.spec.name, stream, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            except Exception:
                log.exception("%s could not read %s for revocations", self.spec.name, stream)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=1.0)
                continue
            read = 0
            for _stream, entries in read_reply(answer):
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    self._apply_revocation(fields)
                    read += 1
            if read < self.settings.batch_size:  # the end of the stream, as of this read
                self.revocations_caught_up = True
            self._purge_revocations()

    def _purge_revocations(self) -> None:
        """Drop the revoked sessions whose `until` is past, at most once a minute: a lookup drops
        only the sid it asks about, and most revoked sessions are never presented again."""
        now = time.monotonic()
        if now - self._revocations_purged_at >= REVOCATION_PURGE_SECONDS:
            self._revocations_purged_at = now
            self.revoked.purge()

    def _apply_revocation(self, fields: dict[bytes, bytes]) -> None:
        try:
            envelope = decode_entry(fields)
        except Exception:
            log.warning("%s skipped an unreadable entry of identity's stream", self.spec.name)
            return
        if envelope.type != REVOKED_TYPE:
            return
        try:
            self.revoked.on_event(envelope.payload)
        except (KeyError, TypeError, ValueError):
            log.warning("%s skipped a malformed session.revoked event %s", self.spec.name, envelope.event_id)
            return
        self.revocations_read += 1

    async def _forget_old_answers(self) -> None:
        """Hourly: drop the answers kept for Idempotency-Keys past their retention."""
        while not self._stop.is_set():
            try:
                cutoff = idempotency.retention_cutoff(self.clock.now(), self.settings.idempotency_hours)
                removed = await asyncio.to_thread(self._forget_before, cutoff)
                if removed:
                    log.info("%s forgot %d idempotency keys older than %s", self.spec.name, removed, cutoff)
            except Exception as error:  # the database may be away: the next hour tries again
                log.warning("%s could not forget old idempotency keys: %s", self.spec.name, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=IDEMPOTENCY_SWEEP_SECONDS)

    def _forget_before(self, cutoff: datetime) -> int:
        with self.db.session() as session:
            return idempotency.forget_older_than(session, cutoff)

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
        """Readiness facts: database and Redis reachable, and the sessions identity revoked read."""
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
        checks["revocations"] = "ok" if self.revocations_caught_up else "reading identity's stream"
        return checks
