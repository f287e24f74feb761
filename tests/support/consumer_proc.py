"""A test-only consumer process: Shian's real StreamConsumer and InboxProcessor, run until SIGTERM.

Run as `python -m tests.support.consumer_proc` from the repository root. It reads one producing
service's stream (Settings from SHIAN_* variables: redis url, stream prefix, batch size, claim idle
time, delivery limit) into a SQLite database of its own whose `effects` table has NO unique
constraint, so an event applied twice shows as two rows.

Environment, besides SHIAN_*:
  PROBE_DB          path of the SQLite file (required)
  PROBE_STREAM      producing service whose stream is read (default: registry)
  PROBE_GROUP       consumer group, which is also the inbox consumer name (default: probe)
  PROBE_DELAY       seconds each event's handler sleeps inside the batch transaction (default: 0)
  PROBE_FAIL_FILE   file of event ids (one a line) whose handler raises; read for every event,
                    so a test can "fix the bug" by emptying it
  PROBE_MARK_AT     the Nth handler call of this process writes PROBE_HANG_MARKER (its event id)
                    and stalls inside the batch transaction: a test kills it there, mid-batch
  PROBE_HANG_AFTER  once this process has applied at least N events, hang after the batch's
                    commit and before its XACK (a crash window), after writing PROBE_HANG_MARKER
                    (the batch's event ids)
  PROBE_READY       file written (with the consumer name) once the group exists and reading starts
  PROBE_PARK        "1": an incident.reported naming a business no business.registered has brought
                    yet is parked (shared/parking.py) until that registration releases it
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from sqlmodel import Session

from shared.bus import REDIS_DOWN, BatchResult, Bus, StreamConsumer, ensure_group
from shared.db import Database, add_infrastructure_tables, service_base, utcnow
from shared.events import CATALOGUE, Envelope
from shared.inbox import InboxProcessor
from shared.metrics import BusMetrics
from shared.parking import Unresolved, release
from shared.settings import Settings

Base = service_base("probe")
infra = add_infrastructure_tables(Base.metadata)
effects = sa.Table(
    "effects",
    Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False),  # deliberately not unique
    sa.Column("event_type", sa.String(80), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("applied_at", sa.String(40), nullable=False),
)

businesses = sa.Table("businesses", Base.metadata, sa.Column("id", sa.String(36), primary_key=True))

log = logging.getLogger("probe")


def write_atomically(path: Path, text: str) -> None:
    """The test polls for these files: it must never see one half-written."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


def make_handler(delay: float, fail_file: Path | None, mark_at: int, marker: Path | None, park: bool = False):
    calls = 0

    def apply(session: Session, envelope: Envelope, payload: object) -> None:
        nonlocal calls
        business_id = str(getattr(payload, "business_id", None))
        known = sa.select(businesses.c.id).where(businesses.c.id == business_id)
        if park and envelope.type == "incident.reported" and session.execute(known).first() is None:
            raise Unresolved("business", business_id)
        calls += 1
        event_id = str(envelope.event_id)
        if delay:
            time.sleep(delay)
        if mark_at and calls == mark_at and marker is not None:
            write_atomically(marker, event_id)
            log.warning("stalling mid-batch on event %s", event_id)
            time.sleep(3600)
        if fail_file is not None and fail_file.exists() and event_id in fail_file.read_text().split():
            raise RuntimeError(f"probe refuses event {event_id}")
        session.execute(
            effects.insert().values(
                event_id=event_id,
                event_type=envelope.type,
                pid=os.getpid(),
                applied_at=utcnow().isoformat(),
            )
        )
        if park and envelope.type == "business.registered":
            session.execute(businesses.insert().values(id=business_id))
            release(session, "business", business_id)

    return apply


class HangingProcessor:
    """Delegates to the inbox; after enough applied events, hangs between commit and ack."""

    def __init__(self, inner: InboxProcessor, hang_after: int, marker: Path | None) -> None:
        self.inner = inner
        self.hang_after = hang_after
        self.marker = marker
        self.applied = 0

    def process(self, envelopes: Sequence[Envelope]) -> BatchResult:
        result = self.inner.process(envelopes)  # committed when this returns
        for event_id in result.errors:
            log.warning("probe: delivery of %s failed", event_id)
        self.applied += sum(1 for outcome in result.outcomes.values() if outcome == "applied")
        if self.hang_after and self.applied >= self.hang_after:
            if self.marker is not None:
                write_atomically(self.marker, ",".join(str(e.event_id) for e in envelopes))
            log.warning("hanging after commit, before ack (%d applied)", self.applied)
            time.sleep(3600)
        return result


async def connect(bus: Bus, stop: asyncio.Event) -> bool:
    backoff = 0.1
    while not stop.is_set():
        try:
            redis = await bus.connect()
            await redis.ping()
            return True
        except REDIS_DOWN as error:
            log.warning("cannot reach Redis yet: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, 1.0)
    return False


async def main() -> int:
    settings = Settings()
    database = Path(os.environ["PROBE_DB"])
    producer = os.environ.get("PROBE_STREAM", "registry")
    group = os.environ.get("PROBE_GROUP", "probe")
    delay = float(os.environ.get("PROBE_DELAY", "0"))
    fail_file = Path(os.environ["PROBE_FAIL_FILE"]) if os.environ.get("PROBE_FAIL_FILE") else None
    hang_after = int(os.environ.get("PROBE_HANG_AFTER", "0"))
    mark_at = int(os.environ.get("PROBE_MARK_AT", "0"))
    marker = Path(os.environ["PROBE_HANG_MARKER"]) if os.environ.get("PROBE_HANG_MARKER") else None
    ready = Path(os.environ["PROBE_READY"]) if os.environ.get("PROBE_READY") else None

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)

    db = Database(f"sqlite:///{database}", infra=infra, stream=settings.stream(group), service=group)
    Base.metadata.create_all(db.engine)
    handler = make_handler(delay, fail_file, mark_at, marker, park=os.environ.get("PROBE_PARK") == "1")
    inbox = InboxProcessor(db, group, {model: [handler] for model in CATALOGUE.values()})
    processor = HangingProcessor(inbox, hang_after, marker)
    bus = Bus(settings, group)
    try:
        if not await connect(bus, stop):
            return 0
        stream = settings.stream(producer)
        consumer = StreamConsumer(
            redis=bus.redis,
            stream=stream,
            group=group,
            processor=processor,
            settings=settings,
            metrics=BusMetrics(CollectorRegistry()),
            service=group,
        )
        while not stop.is_set():
            try:
                await ensure_group(bus.redis, stream, group)
                break
            except REDIS_DOWN:
                await asyncio.sleep(0.1)
        if ready is not None:
            write_atomically(ready, consumer.name)
        log.warning("consumer %s reading %s as %s", consumer.name, stream, group)
        await consumer.run(stop)
    finally:
        await bus.close()
        db.dispose()
    log.warning("stopped cleanly")
    return 0


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    sys.exit(asyncio.run(main()))
