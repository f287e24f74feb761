"""The transactional outbox: events are rows written with the change that caused them.

`emit` adds the row inside the caller's transaction; `OutboxRelay` publishes unpublished rows to
Redis in pipelined batches and marks them. If Redis is down the rows wait; if the relay dies after
publishing and before marking, the rows are published again and the consumers' inboxes drop the
duplicates. On PostgreSQL several relays (replicas) share the work with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session

from shared.bus import REDIS_DOWN, Bus, OutgoingEvent
from shared.clock import SYSTEM_CLOCK, Clock
from shared.db import UNAVAILABLE_ERRORS, Database, InfraTables, utcnow
from shared.events import Envelope, EventPayload

if TYPE_CHECKING:
    from shared.metrics import BusMetrics
    from shared.settings import Settings

log = logging.getLogger("shian.outbox")

PUBLISH_TIMEOUT = 10.0  # seconds for one pipelined batch; a Redis that accepts and never answers


def emit(
    session: Session,
    payload: EventPayload,
    *,
    county_id: str,
    township_id: str | None,
    actor: str,
    correlation_id: Any = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    """Record an event in the outbox, in the session's transaction; returns its envelope. The
    event is dated by the service's clock (the session's), unless it says when it happened."""
    clock: Clock = session.info.get("shian.clock", SYSTEM_CLOCK)
    envelope = Envelope.wrap(
        payload,
        county_id=county_id,
        township_id=township_id,
        actor=actor,
        correlation_id=correlation_id,
        occurred_at=occurred_at or clock.now(),
    )
    emit_envelope(session, envelope)
    return envelope


def emit_envelope(session: Session, envelope: Envelope) -> None:
    """Queue the event's outbox row in the session; it is inserted, with every other row of the
    transaction in one statement, just before the commit (see `write_pending_rows`)."""
    session.info.setdefault(PENDING_ROWS, []).append(
        {
            "event_id": str(envelope.event_id),
            "event_type": envelope.type,
            "stream": session.info["shian.stream"],
            "body": envelope.to_bytes(),
            "created_at": utcnow(),
        }
    )
    session.info["shian.emitted"] = True


def emit_many(session: Session, envelopes: Sequence[Envelope]) -> None:
    """Record many events (a bulk import), in the session's transaction."""
    for envelope in envelopes:
        emit_envelope(session, envelope)


PENDING_ROWS = "shian.outbox_rows"


def write_pending_rows(session: Session) -> None:
    """Insert the transaction's queued outbox rows (one executemany): called before commit.

    Building an INSERT per event costs far more than the event itself; one statement per
    transaction keeps emitting an event close to the cost of serialising it."""
    rows = session.info.pop(PENDING_ROWS, None)
    if rows:
        infra: InfraTables = session.info["shian.infra"]
        session.execute(infra.outbox.insert(), rows)


def discard_pending_rows(session: Session) -> None:
    session.info.pop(PENDING_ROWS, None)


LEASE_RETRY_SECONDS = 2.0


class RelayLease:
    """On SQLite, one relay per database file: two processes on one file (two replicas, or a
    service and a second copy started by mistake) must not both publish the same rows. The lease
    is an exclusive lock on a file beside the database, taken without waiting and let go by the
    kernel when its process dies, so a standby takes over within LEASE_RETRY_SECONDS.
    PostgreSQL needs none: its relays share the outbox with FOR UPDATE SKIP LOCKED."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None
        self._standing_by = False

    @classmethod
    def for_database(cls, db: Database) -> RelayLease:
        database = make_url(db.url).database if db.is_sqlite else None
        if not database or database == ":memory:":
            return cls(None)
        return cls(Path(database).with_name(Path(database).name + ".relay.lock"))

    def held(self) -> bool:
        """Whether this process holds the lease (taking it if it is free)."""
        if self.path is None or self._handle is not None:
            return True
        handle = open(self.path, "ab")  # noqa: SIM115 (kept open while the lease is held)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            if not self._standing_by:
                log.info("another process publishes the outbox of %s; standing by", self.path.stem)
                self._standing_by = True
            return False
        if self._standing_by:
            log.info("took over publishing the outbox of %s", self.path.stem)
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class OutboxRelay:
    """Publishes the outbox; woken at once after a commit that emitted, polling as a fallback."""

    def __init__(self, db: Database, bus: Bus, settings: Settings, metrics: BusMetrics) -> None:
        self.db = db
        self.bus = bus
        self.settings = settings
        self.metrics = metrics
        self.table = db.infra.outbox
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.healthy = False
        self.lease = RelayLease.for_database(db)

    def wake(self) -> None:
        """Thread-safe: called from the commit hook, which may run in a worker thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self.db.on_events_committed.append(self.wake)
        backoff = 0.2
        next_gauge = 0.0
        try:
            while not stop.is_set():
                if not self.lease.held():  # another process on this SQLite file publishes it
                    await self._sleep(stop, LEASE_RETRY_SECONDS, wakeable=False)
                    continue
                try:
                    published = await self.publish_batch()
                    self.healthy = True
                    backoff = 0.2
                    if self._loop.time() >= next_gauge:
                        await asyncio.to_thread(self.observe_backlog)
                        next_gauge = self._loop.time() + 5.0
                    if published >= self.settings.relay_batch_size:
                        continue
                    await self._sleep(stop, self.settings.relay_poll_seconds)
                except REDIS_DOWN as error:
                    self.healthy = False
                    self.metrics.bus_errors.labels(self.bus.service, "publish_failed").inc()
                    log.warning("outbox relay cannot reach Redis (%s); retrying in %.1fs", error, backoff)
                    if self._loop.time() >= next_gauge:  # the backlog grows while Redis is away: show it
                        next_gauge = self._loop.time() + 5.0
                        await self._observe_backlog_quietly()
                    await self._sleep(stop, backoff, wakeable=False)
                    backoff = min(backoff * 2, 5.0)
                except UNAVAILABLE_ERRORS as error:
                    self.healthy = False
                    self.metrics.bus_errors.labels(self.bus.service, "database_unavailable").inc()
                    first_line = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
                    log.warning(
                        "outbox relay cannot read its database (%s); retrying in %.1fs", first_line, backoff
                    )
                    await self._sleep(stop, backoff, wakeable=False)
                    backoff = min(backoff * 2, 5.0)
                except Exception:
                    self.healthy = False
                    log.exception("outbox relay failed; retrying in %.1fs", backoff)
                    await self._sleep(stop, backoff, wakeable=False)
                    backoff = min(backoff * 2, 5.0)
        finally:
            self.lease.release()
            if self.wake in self.db.on_events_committed:
                self.db.on_events_committed.remove(self.wake)

    async def _observe_backlog_quietly(self) -> None:
        try:
            await asyncio.to_thread(self.observe_backlog)
        except Exception as error:  # the database may be away too; the next pass tries again
            log.warning("outbox backlog not measured: %s", error)

    async def _sleep(self, stop: asyncio.Event, seconds: float, *, wakeable: bool = True) -> None:
        """Wait, or less if stopped; a commit cuts short only the idle poll, never a backoff (a
        busy service would otherwise retry a Redis that is down at every commit)."""
        waiters = [asyncio.ensure_future(stop.wait())]
        if wakeable:
            waiters.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            self._wake.clear()

    async def publish_batch(self) -> int:
        """Publish up to one batch of unpublished rows and mark them; returns how many.

        PostgreSQL: the rows stay locked (FOR UPDATE SKIP LOCKED) until marked, so replicas share
        the outbox without publishing a row twice. SQLite has one relay per database: rows are read
        without the write lock and marked in a short transaction afterwards, so a slow Redis never
        holds up the service's writers. A publish that hangs is abandoned after PUBLISH_TIMEOUT."""
        if self.db.is_postgres:
            return await self._publish_locked()
        with self.db.read_session() as session:
            rows = await asyncio.to_thread(self._select_unpublished, session)
        if not rows:
            return 0
        await asyncio.wait_for(self.bus.publish_many(self._outgoing(rows)), PUBLISH_TIMEOUT)
        await asyncio.to_thread(self._mark_in_own_transaction, [row.id for row in rows])
        self.metrics.outbox_published.labels(self.bus.service).inc(len(rows))
        return len(rows)

    async def _publish_locked(self) -> int:
        session = self.db.new_session()
        try:
            rows = await asyncio.to_thread(self._select_unpublished, session, lock=True)
            if not rows:
                await asyncio.to_thread(session.rollback)
                return 0
            await asyncio.wait_for(self.bus.publish_many(self._outgoing(rows)), PUBLISH_TIMEOUT)
            await asyncio.to_thread(self._mark_published, session, [row.id for row in rows])
            await asyncio.to_thread(session.commit)
            self.metrics.outbox_published.labels(self.bus.service).inc(len(rows))
            return len(rows)
        except BaseException:
            await asyncio.to_thread(session.rollback)
            raise
        finally:
            await asyncio.to_thread(session.close)

    @staticmethod
    def _outgoing(rows: Sequence[Any]) -> list[OutgoingEvent]:
        return [
            OutgoingEvent(stream=row.stream, body=row.body, event_id=row.event_id, event_type=row.event_type)
            for row in rows
        ]

    def _mark_in_own_transaction(self, ids: list[int]) -> None:
        with self.db.session() as session:
            self._mark_published(session, ids)

    def _select_unpublished(self, session: Session, *, lock: bool = False) -> list[Any]:
        query = (
            sa.select(
                self.table.c.id,
                self.table.c.stream,
                self.table.c.body,
                self.table.c.event_id,
                self.table.c.event_type,
            )
            .where(self.table.c.published_at.is_(None))
            .order_by(self.table.c.id)
            .limit(self.settings.relay_batch_size)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        return list(session.execute(query).all())

    def _mark_published(self, session: Session, ids: list[int]) -> None:
        session.execute(self.table.update().where(self.table.c.id.in_(ids)).values(published_at=utcnow()))

    def observe_backlog(self) -> tuple[int, float]:
        with self.db.read_session() as session:
            count, oldest = session.execute(
                sa.select(sa.func.count(), sa.func.min(self.table.c.created_at)).where(
                    self.table.c.published_at.is_(None)
                )
            ).one()
        age = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:  # aggregate results bypass the UTC column type
                oldest = oldest.replace(tzinfo=UTC)
            age = max((utcnow() - oldest).total_seconds(), 0.0)
        self.metrics.outbox_backlog.labels(self.bus.service).set(count)
        self.metrics.outbox_oldest_age.labels(self.bus.service).set(age)
        return int(count), age
