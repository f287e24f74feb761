"""Parking an event that arrives before the record it needs.

Each stream is ordered, but streams are independent, and a failed entry is retried after later
ones: `incident.reported` (alerts stream) can reach inspection before the `business.registered`
(registry stream) of the business it names. A handler that looked the business up and returned
would lose the event's effect for good. Instead it raises `Unresolved(kind, key)`; the inbox
processor undoes that event's effects, keeps the event in the consumer's `parked_events` table (in
the same transaction as its inbox row) and acknowledges it. The handler that later creates the
record calls `release(session, kind, key)`, and the processor applies the parked events waiting for
it in the same transaction, after the releasing event, in the order they were parked.

The vocabulary is domain-neutral: a kind ("business") and a key (its id) name the awaited record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

import sqlalchemy as sa
from sqlmodel import Session

from shared.db import utcnow
from shared.events import Envelope

log = logging.getLogger("shian.parking")

RELEASED = "shian.released"
"""session.info key: what the handlers of the current event released, as `kind:key` strings."""


def waiting_key(kind: str, key: object) -> str:
    return f"{kind}:{key}"


class Unresolved(Exception):
    """The record this event needs is not known yet: park the event until it is released."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"waiting for {kind} {key}")
        self.kind = kind
        self.key = str(key)

    @property
    def waiting_for(self) -> str:
        return waiting_key(self.kind, self.key)


def release(session: Session, kind: str, key: object) -> None:
    """The record `kind:key` now exists: the events parked waiting for it can be applied (by the
    processor, right after the current event, in the same transaction)."""
    released: list[str] = session.info.setdefault(RELEASED, [])
    wanted = waiting_key(kind, key)
    if wanted not in released:
        released.append(wanted)


def take_released(session: Session) -> list[str]:
    return session.info.pop(RELEASED, None) or []


class _Parks(Protocol):
    """A handler marked by `parks` (the inbox processor reads the mark)."""

    shian_parks: bool


MarkedHandler = TypeVar("MarkedHandler", bound=Callable[..., Any])


def parks(function: MarkedHandler) -> MarkedHandler:
    """Mark a handler that may raise Unresolved, so that the processor gives each event of its type
    a savepoint and parks it alone. Unmarked handlers may raise it too: their batch is then replayed
    one event per transaction, which parks the event just as well but costs more."""
    cast(_Parks, function).shian_parks = True
    return function


def parked_table(session: Session) -> sa.Table:
    """The consumer database's parked_events table (defined with the other infrastructure tables)."""
    return session.info["shian.infra"].inbox.metadata.tables["parked_events"]


def park(session: Session, consumer: str, envelope: Envelope, waiting: Unresolved) -> None:
    """Keep the event until `waiting` is released, in the session's transaction (which must also
    hold the event's inbox row, so that a redelivery is a duplicate)."""
    now = utcnow()
    session.execute(
        parked_table(session)
        .insert()
        .values(
            consumer=consumer,
            event_id=str(envelope.event_id),
            event_type=envelope.type,
            waiting_for=waiting.waiting_for,
            body=envelope.to_bytes(),
            parked_at=now,
            attempts=1,
            last_attempt_at=now,
        )
    )
    log.info("%s parked %s (%s) until %s", consumer, envelope.event_id, envelope.type, waiting)
