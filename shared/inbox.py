"""The idempotent inbox: a consumer applies each event once, whatever Redis delivers twice.

The processed event ids are written in the same transaction as the handlers' effects, so a crash
either keeps both or neither. A batch is one transaction; if one event in it fails, the batch is
rolled back and replayed one event per transaction, so one bad event never holds up the rest.

An event whose handler needs a record the consumer does not know yet (shared/parking.py raises
`Unresolved`) is parked: its effects are undone (a savepoint), it is kept in `parked_events` with its
inbox row, and it is applied in the transaction of the event that creates the awaited record.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlmodel import Session

from shared.bus import BatchResult, TransientError
from shared.db import UNAVAILABLE_ERRORS, Database, utcnow
from shared.events import Envelope, EventPayload
from shared.parking import Unresolved, park, take_released

log = logging.getLogger("shian.inbox")

Handler = Callable[[Session, Envelope, Any], None]
"""A handler receives the session (its effects commit with the inbox row), the envelope and the
typed payload."""

BatchItems = Sequence[tuple[Envelope, Any]]


class _BatchHandler(Protocol):
    """A handler marked by `batch_handler`: called with a run of events, not with one."""

    shian_batch: bool

    def __call__(self, session: Session, items: BatchItems, /) -> None: ...


def batch_handler(function: Callable[[Session, BatchItems], None]) -> Handler:
    """Mark a handler that takes a run of consecutive events of its type at once, as
    `(session, [(envelope, payload), ...])`, so it can write them in one statement: a projection
    that executes one INSERT per event spends most of its time building statements."""
    marked = cast(_BatchHandler, function)
    marked.shian_batch = True
    # it stands in a handler chain among per-event handlers; `_as_batch` tells it apart again
    return cast(Handler, marked)


def _is_batch(handler: Handler) -> bool:
    return getattr(handler, "shian_batch", False)


def _as_batch(handler: Handler) -> _BatchHandler | None:
    """The handler as the batch handler it is, or None for a per-event handler."""
    return cast(_BatchHandler, handler) if _is_batch(handler) else None


HandlerMap = Mapping[type[EventPayload], Sequence[Handler]]

RETRY_PARKED_SECONDS = 60.0
"""How often a parked event is tried again even if nothing released it: on PostgreSQL the event
that creates the record can commit between a handler's lookup and the parking of its event, and
its release then finds nothing to apply."""


@dataclass(frozen=True)
class ParkedStats:
    """What a consumer holds back: the gauges and the bounded-wait check read this."""

    count: int = 0
    oldest_age_seconds: float = 0.0
    overdue: list[str] = field(default_factory=list)  # event ids parked longer than the bound


class _Mark:
    """What a savepoint rollback does not undo by itself: what handlers queue in session.info
    lists to write at commit (outbox rows, reporting's archive rows) and the releases they
    announced. Restoring truncates every such list to its length at the mark."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.lengths = {key: len(value) for key, value in session.info.items() if isinstance(value, list)}

    def restore(self) -> None:
        for key, value in self.session.info.items():
            if isinstance(value, list):
                del value[self.lengths.get(key, 0) :]


class InboxProcessor:
    """Applies batches of events for one consumer (a service's group) in its own database."""

    def __init__(self, db: Database, consumer: str, handlers: HandlerMap) -> None:
        self.db = db
        self.consumer = consumer
        self.handlers: dict[str, Sequence[Handler]] = {
            payload_type.TYPE: list(chain) for payload_type, chain in handlers.items()
        }
        self.inbox = db.infra.inbox
        self.parked: sa.Table = self.inbox.metadata.tables["parked_events"]
        self.parking_types = {
            event_type
            for event_type, chain in self.handlers.items()
            if any(getattr(handler, "shian_parks", False) for handler in chain)
        }
        self.retry_parked_seconds = RETRY_PARKED_SECONDS
        self._next_retry = 0.0
        self._reported_overdue: set[str] = set()
        self._housekeeping = threading.Lock()

    def handles(self, event_type: str) -> bool:
        return event_type in self.handlers

    def process(self, envelopes: Sequence[Envelope]) -> BatchResult:
        """Apply a batch; events that fail are reported, not raised. A database that cannot be
        reached is no event's fault: that raises TransientError, and the consumer retries the
        same batch later instead of counting a failed delivery against every event in it."""
        try:
            return self._transaction(envelopes)
        except UNAVAILABLE_ERRORS as error:
            raise TransientError(str(error)) from error
        except Unresolved as waiting:  # an unmarked handler parks: one event per transaction
            log.info("batch of %d holds an event %s; parking it alone", len(envelopes), waiting)
        except Exception:
            if len(envelopes) == 1:
                return self._failed(envelopes[0])
            log.warning("batch of %d failed; applying its events one by one", len(envelopes))
        result = BatchResult()
        for envelope in envelopes:
            try:
                single = self._transaction([envelope])
                result.outcomes.update(single.outcomes)
            except UNAVAILABLE_ERRORS as error:
                raise TransientError(str(error)) from error
            except Exception:
                failed = self._failed(envelope)
                result.errors.update(failed.errors)
                result.outcomes.update(failed.outcomes)
        return result

    def _transaction(self, envelopes: Sequence[Envelope]) -> BatchResult:
        """Apply in one transaction. An inbox row that already exists when ours is inserted means
        another replica applied one of these events after our check (both held a reclaimed
        entry): no event's fault, so try once more in a fresh transaction, which sees it as a
        duplicate, instead of reporting a failure."""
        try:
            with self.db.session() as session:
                return self._apply(session, envelopes)
        except sa_exc.IntegrityError as error:
            if not self._inbox_conflict(error):
                raise
            log.info(
                "%s: %d event(s) applied meanwhile by another consumer; retrying the batch",
                self.consumer,
                len(envelopes),
            )
        with self.db.session() as session:
            return self._apply(session, envelopes)

    def _inbox_conflict(self, error: sa_exc.IntegrityError) -> bool:
        """Whether the violated key is the inbox's (or a parked event's), not a handler's."""
        statement = str(error.statement or "")
        return f"INSERT INTO {self.inbox.name} " in statement or (
            f"INSERT INTO {self.parked.name} " in statement
        )

    def _failed(self, envelope: Envelope) -> BatchResult:
        log.exception("event %s (%s) failed", envelope.event_id, envelope.type)
        error = traceback.format_exc(limit=5)
        event_id = str(envelope.event_id)
        return BatchResult(outcomes={event_id: "failed"}, errors={event_id: error})

    def _apply_chain(self, session: Session, envelope: Envelope, payload: Any) -> None:
        for handler in self.handlers[envelope.type]:
            batch = _as_batch(handler)
            if batch is not None:
                batch(session, [(envelope, payload)])
            else:
                handler(session, envelope, payload)

    def _apply_or_park(self, session: Session, envelope: Envelope, payload: Any) -> str:
        """Apply one event under a savepoint; if it waits for a record, undo it and park it."""
        mark = _Mark(session)
        savepoint = session.begin_nested()
        try:
            self._apply_chain(session, envelope, payload)
        except Unresolved as waiting:
            savepoint.rollback()
            mark.restore()
            self._park(session, envelope, waiting)
            return "parked"
        except BaseException:
            savepoint.rollback()
            mark.restore()
            raise
        savepoint.commit()
        return "applied"

    def _park(self, session: Session, envelope: Envelope, waiting: Unresolved) -> None:
        park(session, self.consumer, envelope, waiting)

    def _release(self, session: Session) -> None:
        """Apply, in the order they were parked, the events waiting for what was just released
        (which may release more)."""
        while keys := take_released(session):
            rows = session.execute(
                sa.select(self.parked)
                .where(self.parked.c.consumer == self.consumer, self.parked.c.waiting_for.in_(keys))
                .order_by(self.parked.c.id)
            ).all()
            for row in rows:
                self._apply_parked(session, row)

    def _apply_parked(self, session: Session, row: sa.Row) -> bool:
        """Apply one parked event in the session's transaction; True if it is no longer parked.

        The row is deleted first: on PostgreSQL a second replica doing the same waits on that row
        and then deletes nothing, so a parked event is applied once. If the event still waits
        (for this or another record) or fails, the row goes back as it was, counted and dated."""
        deleted = session.exec(
            self.parked.delete().where(self.parked.c.id == row.id, self.parked.c.consumer == self.consumer)
        ).rowcount
        if not deleted:
            return False
        envelope = Envelope.from_bytes(row.body)
        if envelope.type not in self.handlers:
            log.warning(
                "%s dropped parked %s: nothing handles %s now", self.consumer, row.event_id, row.event_type
            )
            return True
        waiting_for, error = row.waiting_for, None
        mark = _Mark(session)
        savepoint = session.begin_nested()
        try:
            self._apply_chain(session, envelope, envelope.parse_payload())
        except Unresolved as waiting:
            savepoint.rollback()
            mark.restore()
            waiting_for = waiting.waiting_for
        except UNAVAILABLE_ERRORS:
            savepoint.rollback()
            mark.restore()
            raise
        except Exception:
            savepoint.rollback()
            mark.restore()
            log.exception("%s: parked event %s (%s) failed", self.consumer, row.event_id, row.event_type)
            error = traceback.format_exc(limit=5)
        else:
            savepoint.commit()
            log.info(
                "%s applied parked %s (%s) after %d attempt(s)",
                self.consumer,
                row.event_id,
                row.event_type,
                row.attempts + 1,
            )
            return True
        session.execute(
            self.parked.insert().values(
                id=row.id,
                consumer=row.consumer,
                event_id=row.event_id,
                event_type=row.event_type,
                waiting_for=waiting_for,
                body=row.body,
                parked_at=row.parked_at,
                attempts=row.attempts + 1,
                last_attempt_at=utcnow(),
                last_error=error,
            )
        )
        return False

    def check_parked(self, max_wait_seconds: float, now: datetime | None = None) -> ParkedStats:
        """Retry parked events not tried for a while, then count what is still parked and report
        (once per event, as an error) those held longer than `max_wait_seconds`."""
        with self._housekeeping:
            now = now or utcnow()
            if time.monotonic() >= self._next_retry:
                self._next_retry = time.monotonic() + self.retry_parked_seconds
                self.retry_parked(now)
            return self._parked_stats(max_wait_seconds, now)

    def retry_parked(self, now: datetime | None = None) -> int:
        """Try again, in parked order, the parked events whose last attempt is older than the
        retry interval; returns how many were applied. Opens no write transaction when none is
        due (on SQLite a write transaction takes the database's one write lock)."""
        now = now or utcnow()
        table = self.parked
        due = sa.and_(
            table.c.consumer == self.consumer,
            table.c.last_attempt_at <= now - timedelta(seconds=self.retry_parked_seconds),
        )
        with self.db.read_session() as session:
            if session.execute(sa.select(table.c.id).where(due).limit(1)).first() is None:
                return 0
        applied = 0
        with self.db.session() as session:
            rows = session.execute(sa.select(table).where(due).order_by(table.c.id).limit(500)).all()
            for row in rows:
                if self._apply_parked(session, row):
                    applied += 1
                self._release(session)
        return applied

    def _parked_stats(self, max_wait_seconds: float, now: datetime) -> ParkedStats:
        table = self.parked
        with self.db.read_session() as session:
            count, oldest = session.execute(
                sa.select(sa.func.count(), sa.func.min(table.c.parked_at)).where(
                    table.c.consumer == self.consumer
                )
            ).one()
            if not count:
                self._reported_overdue.clear()
                return ParkedStats()
            overdue = session.execute(
                sa.select(table.c.event_id, table.c.event_type, table.c.waiting_for, table.c.parked_at)
                .where(
                    table.c.consumer == self.consumer,
                    table.c.parked_at < now - timedelta(seconds=max_wait_seconds),
                )
                .order_by(table.c.id)
                .limit(1000)
            ).all()
        for row in overdue:
            if row.event_id not in self._reported_overdue:
                log.error(
                    "%s: event %s (%s) has waited for %s since %s, longer than %ds: is the record "
                    "it needs lost?",
                    self.consumer,
                    row.event_id,
                    row.event_type,
                    row.waiting_for,
                    row.parked_at.isoformat(),
                    max_wait_seconds,
                )
        self._reported_overdue = {row.event_id for row in overdue}
        return ParkedStats(
            count=int(count),
            oldest_age_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
            overdue=[row.event_id for row in overdue],
        )

    def _apply_run(self, session: Session, run: BatchItems) -> None:
        """Apply consecutive events of one type in order. Per-event handlers see each event in
        turn (all handlers of one event before the next event); a batch handler in the chain
        takes the whole run at its place in the chain."""
        chain = self.handlers[run[0][0].type]
        if not any(_is_batch(handler) for handler in chain):
            for envelope, payload in run:
                for handler in chain:
                    handler(session, envelope, payload)
            return
        for handler in chain:
            batch = _as_batch(handler)
            if batch is not None:
                batch(session, run)
            else:
                for envelope, payload in run:
                    handler(session, envelope, payload)

    def _apply(self, session: Session, envelopes: Sequence[Envelope]) -> BatchResult:
        result = BatchResult()
        ids = {str(envelope.event_id) for envelope in envelopes}
        seen = set(
            session.execute(
                sa.select(self.inbox.c.event_id).where(
                    self.inbox.c.consumer == self.consumer, self.inbox.c.event_id.in_(ids)
                )
            ).scalars()
        )
        rows: list[dict[str, Any]] = []
        now = utcnow()
        # One event alone gets a savepoint whatever its handlers: that is how an Unresolved from an
        # unmarked handler is parked once its batch is replayed event by event.
        alone = len(envelopes) == 1
        run: list[tuple[Envelope, Any]] = []  # consecutive new events of one type
        for envelope in envelopes:
            event_id = str(envelope.event_id)
            if event_id in seen:
                result.outcomes.setdefault(event_id, "duplicate")
                continue
            seen.add(event_id)
            if envelope.type not in self.handlers:
                result.outcomes[event_id] = "ignored"
                continue
            rows.append(
                {
                    "consumer": self.consumer,
                    "event_id": event_id,
                    "event_type": envelope.type,
                    "processed_at": now,
                }
            )
            payload = envelope.parse_payload()
            if alone or envelope.type in self.parking_types:
                if run:
                    self._apply_run(session, run)
                    self._release(session)
                    run = []
                result.outcomes[event_id] = self._apply_or_park(session, envelope, payload)
                self._release(session)
                continue
            if run and run[0][0].type != envelope.type:
                self._apply_run(session, run)
                self._release(session)
                run = []
            run.append((envelope, payload))
            result.outcomes[event_id] = "applied"
        if run:
            self._apply_run(session, run)
            self._release(session)
        if rows:
            # one multi-row INSERT, not executemany: psycopg runs executemany as a pipeline, and a
            # reclaim race's unique violation inside it is logged as a warning while it unwinds
            session.execute(self.inbox.insert().values(rows))
        return result
