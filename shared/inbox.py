"""The idempotent inbox: a consumer applies each event once, whatever Redis delivers twice.

The processed event ids are written in the same transaction as the handlers' effects, so a crash
either keeps both or neither. A batch is one transaction; if one event in it fails, the batch is
rolled back and replayed one event per transaction, so one bad event never holds up the rest.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlmodel import Session

from shared.bus import BatchResult, TransientError
from shared.db import Database, utcnow
from shared.events import Envelope, EventPayload

log = logging.getLogger("shian.inbox")

Handler = Callable[[Session, Envelope, Any], None]
"""A handler receives the session (its effects commit with the inbox row), the envelope and the
typed payload."""

BatchItems = Sequence[tuple[Envelope, Any]]


def batch_handler(function: Callable[[Session, BatchItems], None]) -> Handler:
    """Mark a handler that takes a run of consecutive events of its type at once, as
    `(session, [(envelope, payload), ...])`, so it can write them in one statement: a projection
    that executes one INSERT per event spends most of its time building statements."""
    function.shian_batch = True  # type: ignore[attr-defined]
    return function  # type: ignore[return-value]


def _is_batch(handler: Handler) -> bool:
    return getattr(handler, "shian_batch", False)


HandlerMap = Mapping[type[EventPayload], Sequence[Handler]]

# Errors of the database itself (gone, locked too long), as opposed to errors of one event.
TRANSIENT_DB_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError)


class InboxProcessor:
    """Applies batches of events for one consumer (a service's group) in its own database."""

    def __init__(self, db: Database, consumer: str, handlers: HandlerMap) -> None:
        self.db = db
        self.consumer = consumer
        self.handlers: dict[str, Sequence[Handler]] = {
            payload_type.TYPE: list(chain) for payload_type, chain in handlers.items()
        }
        self.inbox = db.infra.inbox

    def handles(self, event_type: str) -> bool:
        return event_type in self.handlers

    def process(self, envelopes: Sequence[Envelope]) -> BatchResult:
        """Apply a batch; events that fail are reported, not raised. A database that cannot be
        reached is no event's fault: that raises TransientError, and the consumer retries the
        same batch later instead of counting a failed delivery against every event in it."""
        try:
            with self.db.session() as session:
                return self._apply(session, envelopes)
        except TRANSIENT_DB_ERRORS as error:
            raise TransientError(str(error)) from error
        except Exception:
            if len(envelopes) == 1:
                return self._failed(envelopes[0])
            log.warning("batch of %d failed; applying its events one by one", len(envelopes))
        result = BatchResult()
        for envelope in envelopes:
            try:
                with self.db.session() as session:
                    single = self._apply(session, [envelope])
                result.outcomes.update(single.outcomes)
            except TRANSIENT_DB_ERRORS as error:
                raise TransientError(str(error)) from error
            except Exception:
                failed = self._failed(envelope)
                result.errors.update(failed.errors)
                result.outcomes.update(failed.outcomes)
        return result

    def _failed(self, envelope: Envelope) -> BatchResult:
        log.exception("event %s (%s) failed", envelope.event_id, envelope.type)
        error = traceback.format_exc(limit=5)
        event_id = str(envelope.event_id)
        return BatchResult(outcomes={event_id: "failed"}, errors={event_id: error})

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
            if _is_batch(handler):
                handler(session, run)  # type: ignore[call-arg, arg-type]
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
            if run and run[0][0].type != envelope.type:
                self._apply_run(session, run)
                run = []
            run.append((envelope, envelope.parse_payload()))
            rows.append(
                {
                    "consumer": self.consumer,
                    "event_id": event_id,
                    "event_type": envelope.type,
                    "processed_at": now,
                }
            )
            result.outcomes[event_id] = "applied"
        if run:
            self._apply_run(session, run)
        if rows:
            session.execute(self.inbox.insert(), rows)
        return result
