"""One call records a change: the audit line and the event, written from the subject's place.

Every command ends the same way: who did what to which record goes into the audit log, and what
happened goes out as an event, both in the command's transaction. The place (county, township) and
the audit entity come from the subject itself, so a call site names only what is its own: the
action, the actor, the detail and the event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Protocol

from sqlmodel import Session

from shared import audit
from shared.events import Envelope, EventPayload
from shared.outbox import emit


class Recorded(Protocol):
    """A record whose changes are audited: it has an id and a place, and names itself in the log."""

    audit_entity: ClassVar[str]

    @property
    def id(self) -> Any: ...

    @property
    def county_id(self) -> str: ...

    @property
    def township_id(self) -> str | None: ...


def record(
    session: Session,
    subject: Recorded,
    *,
    actor: str,
    action: str | None = None,
    detail: dict[str, Any] | None = None,
    event: EventPayload | None = None,
    correlation_id: Any = None,
    occurred_at: datetime | None = None,
) -> Envelope | None:
    """Write the audit line (when `action` is given) and queue the event (when `event` is given)
    for `subject`, in the session's transaction; returns the event's envelope, if any."""
    if action is None and event is None:
        raise ValueError("a change records an audit action, an event or both")
    if action is not None:
        audit.record(
            session,
            actor=actor,
            action=action,
            entity=subject.audit_entity,
            entity_id=str(subject.id),
            county_id=subject.county_id,
            township_id=subject.township_id,
            detail=detail,
        )
    if event is None:
        return None
    return emit(
        session,
        event,
        county_id=subject.county_id,
        township_id=subject.township_id,
        actor=actor,
        correlation_id=correlation_id,
        occurred_at=occurred_at,
    )
