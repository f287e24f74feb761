"""The archive of every event reporting consumed, in the order it applied them.

Streams are trimmed; the archive is not. A rebuild replays it (and whatever the streams hold that
it does not), so the read models can always be rebuilt from scratch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Column, Field, Session

from services.reporting.database import Base
from shared.db import UTCDateTime
from shared.events import CATALOGUE, Envelope

PENDING = "reporting.archive_rows"


class ArchivedEvent(Base, table=True):
    __tablename__ = "event_archive"

    seq: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=36, unique=True)
    producer: str = Field(max_length=40)
    event_type: str = Field(max_length=80)
    version: int
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    county_id: str = Field(max_length=40)
    township_id: str | None = Field(default=None, max_length=40)
    body: bytes = Field(sa_column=Column(sa.LargeBinary, nullable=False))


def row(envelope: Envelope) -> dict[str, Any]:
    model = CATALOGUE.get((envelope.type, envelope.version))
    return {
        "event_id": str(envelope.event_id),
        "producer": model.PRODUCER if model else "unknown",
        "event_type": envelope.type,
        "version": envelope.version,
        "occurred_at": envelope.occurred_at,
        "county_id": envelope.county_id,
        "township_id": envelope.township_id,
        "body": envelope.to_bytes(),
    }


def archive(session: Session, envelope: Envelope, payload: object) -> None:
    """Handler for every consumed event: queue its archive row; all rows of the transaction are
    inserted in one statement just before it commits (an insert per event would cost more)."""
    pending: list[dict[str, Any]] | None = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = []
        # Not `once`: before_commit also fires when a savepoint commits (the inbox gives each event
        # that may park one), which writes the rows so far; rows queued after it need it again.
        if not sa.event.contains(session, "before_commit", _write_pending):
            sa.event.listen(session, "before_commit", _write_pending)
            sa.event.listen(session, "after_rollback", _drop_pending)
    pending.append(row(envelope))


def _write_pending(session: Session) -> None:
    rows = session.info.pop(PENDING, None)
    if rows:
        session.execute(ArchivedEvent.__table__.insert(), rows)


def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING, None)
