"""Rebuilding the read models from scratch: empty every projection table, then replay the archive
in the order the events were first applied, then whatever the streams still hold that the archive
does not (events consumed before the archive existed, or not consumed yet).

The whole rebuild is one transaction: readers keep seeing the old figures until it commits, and
the live consumer waits (on SQLite) or retries its batch, so nothing is applied twice or lost.
Events taken from the streams are archived and marked in the inbox, so the live consumer skips them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import cast

import sqlalchemy as sa
from sqlmodel import Session

from services.reporting.readmodels import archive
from services.reporting.readmodels.archive import ArchivedEvent
from services.reporting.readmodels.projections import PROJECTION_TABLES, PROJECTIONS
from shared.bus import decode_entry
from shared.db import Database, utcnow
from shared.events import CATALOGUE, Envelope
from shared.parking import Unresolved, park, parked_table

log = logging.getLogger("shian.reporting.rebuild")

Progress = Callable[[int, int], None]
StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]
CHUNK = 2000
CHAINS = {model.TYPE: list(chain) for model, chain in PROJECTIONS.items()}


@dataclass
class RebuildReport:
    from_archive: int = 0
    from_streams: int = 0
    applied: int = 0
    skipped: int = 0  # types no projection describes (archived all the same)
    unresolved: int = 0  # archived events whose record is missing; stream events parked for it
    seconds: float = 0.0
    streams_read: list[str] = field(default_factory=list)
    streams_unavailable: bool = False


class StreamSource:
    """Entries of the consumed streams, read in chunks with a synchronous Redis client."""

    def __init__(self, redis_url: str, streams: Sequence[str]) -> None:
        import redis

        self.client = redis.Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=3)
        self.streams = list(streams)

    def length(self) -> int:
        return sum(int(self.client.xlen(stream)) for stream in self.streams)

    def envelopes(self, stream: str) -> Iterator[Envelope]:
        start = "-"
        while True:
            # this client does not decode responses: ids and fields are bytes
            entries = cast(StreamEntries, self.client.xrange(stream, min=start, count=CHUNK))
            for _entry_id, fields in entries:
                try:
                    yield decode_entry(fields)
                except Exception as error:  # unreadable entries are the dead-letter stream's business
                    log.warning("skipping an unreadable entry of %s: %s", stream, error)
            if len(entries) < CHUNK:
                return
            start = "(" + entries[-1][0].decode()

    def close(self) -> None:
        self.client.close()


def apply(session: Session, envelope: Envelope, report: RebuildReport) -> None:
    """Project one event. Unresolved (the record it changes is missing) propagates: projections
    raise it before writing anything."""
    chain = CHAINS.get(envelope.type)
    if not chain or (envelope.type, envelope.version) not in CATALOGUE:
        report.skipped += 1
        return
    payload = envelope.parse_payload()
    for handler in chain:
        handler(session, envelope, payload)
    report.applied += 1


def _apply_archived(session: Session, envelope: Envelope, report: RebuildReport) -> None:
    """The archive holds events in the order they were applied, so each one's record comes before
    it; one archived before events could wait for their record may still miss it, as it did then."""
    try:
        apply(session, envelope, report)
    except Unresolved as waiting:
        report.unresolved += 1
        log.warning("archived %s (%s) changes nothing: %s", envelope.event_id, envelope.type, waiting)


def rebuild(
    db: Database,
    *,
    consumer: str = "reporting",
    streams: StreamSource | None = None,
    progress: Progress | None = None,
) -> RebuildReport:
    started = time.perf_counter()
    report = RebuildReport()
    table = ArchivedEvent.__table__
    with db.session() as session:
        archived = int(session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        total = archived
        if streams is not None:
            try:
                total += streams.length()
            except Exception as error:
                log.warning("streams unavailable (%s); rebuilding from the archive alone", error)
                report.streams_unavailable, streams = True, None
        done = 0
        for projection in reversed(PROJECTION_TABLES):
            session.execute(projection.delete())

        last_seq = 0
        while True:
            rows = session.execute(
                sa.select(table.c.seq, table.c.body)
                .where(table.c.seq > last_seq)
                .order_by(table.c.seq)
                .limit(CHUNK)
            ).all()
            for row in rows:
                _apply_archived(session, Envelope.from_bytes(row.body), report)
            report.from_archive += len(rows)
            done += len(rows)
            if progress:
                progress(done, total)
            if len(rows) < CHUNK:
                break
            last_seq = rows[-1].seq

        if streams is not None:
            for stream in streams.streams:
                report.streams_read.append(stream)
                batch: list[Envelope] = []
                for envelope in streams.envelopes(stream):
                    batch.append(envelope)
                    if len(batch) >= CHUNK:
                        done += _apply_new(session, batch, consumer, report)
                        batch = []
                        if progress:
                            progress(done, total)
                done += _apply_new(session, batch, consumer, report)
                if progress:
                    progress(done, max(total, done))
    report.seconds = time.perf_counter() - started
    return report


def _apply_new(session: Session, envelopes: list[Envelope], consumer: str, report: RebuildReport) -> int:
    """Apply (and archive, and mark as processed) the stream entries the archive lacks. Entries the
    live consumer holds parked are left to it; one whose record is missing is parked likewise."""
    if not envelopes:
        return 0
    table = ArchivedEvent.__table__
    ids = [str(envelope.event_id) for envelope in envelopes]
    known = set(session.execute(sa.select(table.c.event_id).where(table.c.event_id.in_(ids))).scalars())
    parked = parked_table(session)
    known |= set(
        session.execute(
            sa.select(parked.c.event_id).where(parked.c.consumer == consumer, parked.c.event_id.in_(ids))
        ).scalars()
    )
    inbox = session.info["shian.infra"].inbox
    processed = set(
        session.execute(
            sa.select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id.in_(ids))
        ).scalars()
    )
    fresh: list[Envelope] = []
    waiting_ones: list[Envelope] = []  # parked here: archived when the live consumer applies them
    for envelope in envelopes:
        event_id = str(envelope.event_id)
        if event_id in known or (envelope.type, envelope.version) not in CATALOGUE:
            continue
        known.add(event_id)
        try:
            apply(session, envelope, report)
        except Unresolved as waiting:
            report.unresolved += 1
            if event_id not in processed:
                park(session, consumer, envelope, waiting)
                waiting_ones.append(envelope)
            continue
        fresh.append(envelope)
    now = utcnow()
    if fresh:
        session.execute(table.insert(), [archive.row(envelope) for envelope in fresh])
    marks = [
        {"consumer": consumer, "event_id": str(e.event_id), "event_type": e.type, "processed_at": now}
        for e in [*fresh, *waiting_ones]
        if str(e.event_id) not in processed
    ]
    if marks:
        session.execute(inbox.insert(), marks)
    report.from_streams += len(fresh)
    return len(envelopes)
