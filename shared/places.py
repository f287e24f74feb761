"""The place directory (county, townships, villages) that services other than the registry keep,
projected from the registry's `place.defined` events."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from shared.auth import places_changed
from shared.catalogue.registry import PlaceDefined
from shared.db import UTCDateTime, utcnow
from shared.events import Envelope
from shared.inbox import Handler


def add_place_directory(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "place_directory",
        metadata,
        sa.Column("place_id", sa.String(40), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.String(40), nullable=True),
        sa.Column("county_id", sa.String(40), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def place_directory_handler(table: sa.Table) -> Handler:
    def on_place_defined(session: Session, envelope: Envelope, payload: PlaceDefined) -> None:
        values = {
            "level": payload.level,
            "name": payload.name,
            "parent_id": payload.parent_id,
            "county_id": envelope.county_id,
            "updated_at": utcnow(),
        }
        updated = session.exec(
            table.update().where(table.c.place_id == payload.place_id).values(**values)
        ).rowcount
        if not updated:
            session.execute(table.insert().values(place_id=payload.place_id, **values))
        # the token check's place cache rereads once this is committed (not before: it would
        # reread the old places and keep them)
        sa.event.listen(session, "after_commit", _changed, once=True)

    return on_place_defined


def _changed(_session: Session) -> None:
    places_changed()


def find_place(session: Session, table: sa.Table, place_id: str) -> sa.Row | None:
    return session.execute(sa.select(table).where(table.c.place_id == place_id)).first()
