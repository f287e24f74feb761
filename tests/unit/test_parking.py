"""Parking on SQLite: an event that needs a record not known yet is held, applied once right after
the event that creates the record (in the order the waiting events were parked), never twice, and
reported when it waits longer than the bound."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from sqlmodel import Session

from shared.bus import StreamConsumer
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.inspection import InspectionTaskOpened
from shared.catalogue.registry import BusinessRegistered
from shared.db import Database, add_infrastructure_tables, service_base, utcnow
from shared.events import Envelope
from shared.inbox import InboxProcessor
from shared.metrics import BusMetrics
from shared.outbox import emit
from shared.parking import Unresolved, parks, release
from shared.settings import Settings

Base = service_base("parkingtest")
infra = add_infrastructure_tables(Base.metadata)
parked = Base.metadata.tables["parked_events"]
businesses = sa.Table(
    "businesses",
    Base.metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
)
# No unique constraint: applying one event twice would show as a second row.
effects = sa.Table(
    "effects",
    Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("what", sa.String(80), nullable=False),
)

CONSUMER = "probe"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(
        f"sqlite:///{tmp_path / 'parking.db'}", infra=infra, stream="t.parkingtest", service="parkingtest"
    )
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def on_registered(session: Session, envelope: Envelope, payload: BusinessRegistered) -> None:
    session.execute(businesses.insert().values(id=str(payload.business_id), name=payload.name))
    session.execute(
        effects.insert().values(event_id=str(envelope.event_id), what=f"registered:{payload.name}")
    )
    release(session, "business", payload.business_id)


def incident_handler(*, marked: bool = True):
    """Writes and emits before it looks the business up: parking must undo both."""

    def on_incident(session: Session, envelope: Envelope, payload: IncidentReported) -> None:
        session.execute(
            effects.insert().values(event_id=str(envelope.event_id), what=f"incident:{payload.description}")
        )
        emit(
            session,
            InspectionTaskOpened(
                task_id=uuid.uuid4(),
                business_id=payload.business_id,
                reason="incident",
                urgent=True,
                due_on=date(2026, 3, 2),
                incident_id=payload.incident_id,
            ),
            county_id=envelope.county_id,
            township_id=envelope.township_id,
            actor="test",
        )
        known = session.execute(
            sa.select(businesses.c.id).where(businesses.c.id == str(payload.business_id))
        ).first()
        if known is None:
            raise Unresolved("business", payload.business_id)

    return parks(on_incident) if marked else on_incident


def registered(business_id: uuid.UUID, name: str = "好味餐馆") -> Envelope:
    return Envelope.wrap(
        BusinessRegistered(
            business_id=business_id,
            name=name,
            kind="catering",
            risk_level="B",
            registered_on=date(2026, 3, 1),
        ),
        county_id="qingyun",
        township_id="qingyun.dongshan",
        actor="test",
    )


def incident(business_id: uuid.UUID, description: str = "腹泻") -> Envelope:
    return Envelope.wrap(
        IncidentReported(
            incident_id=uuid.uuid4(),
            business_id=business_id,
            place_kind="restaurant",
            ill_count=12,
            death_count=0,
            level="IV",
            reported_at=utcnow(),
            description=description,
        ),
        county_id="qingyun",
        township_id="qingyun.dongshan",
        actor="test",
    )


def processor_for(db: Database, *, marked: bool = True) -> InboxProcessor:
    return InboxProcessor(
        db,
        CONSUMER,
        {BusinessRegistered: [on_registered], IncidentReported: [incident_handler(marked=marked)]},
    )


def effect_rows(db: Database) -> list[tuple[str, str]]:
    with db.engine.connect() as connection:
        rows = connection.execute(sa.select(effects.c.event_id, effects.c.what).order_by(effects.c.id))
        return [(row.event_id, row.what) for row in rows]


def parked_rows(db: Database) -> list[sa.Row]:
    with db.engine.connect() as connection:
        return list(connection.execute(sa.select(parked).order_by(parked.c.id)))


def outbox_types(db: Database) -> list[str]:
    with db.engine.connect() as connection:
        return list(
            connection.execute(sa.select(infra.outbox.c.event_type).order_by(infra.outbox.c.id)).scalars()
        )


def inbox_ids(db: Database) -> set[str]:
    with db.engine.connect() as connection:
        return set(connection.execute(sa.select(infra.inbox.c.event_id)).scalars())


def test_an_event_before_its_record_is_parked_and_applied_when_the_record_arrives(db: Database):
    processor = processor_for(db)
    business = uuid.uuid4()
    early, creating = incident(business), registered(business)

    result = processor.process([early])

    assert result.errors == {}
    assert result.outcomes == {str(early.event_id): "parked"}
    assert effect_rows(db) == [] and outbox_types(db) == []  # the handler's write and emit undone
    [row] = parked_rows(db)
    assert (row.consumer, row.event_id, row.event_type) == (
        CONSUMER,
        str(early.event_id),
        "incident.reported",
    )
    assert row.waiting_for == f"business:{business}" and row.attempts == 1
    assert Envelope.from_bytes(row.body) == early
    assert inbox_ids(db) == {str(early.event_id)}  # acknowledged: parked in the same transaction

    result = processor.process([creating])

    assert result.errors == {} and result.outcomes == {str(creating.event_id): "applied"}
    assert effect_rows(db) == [
        (str(creating.event_id), "registered:好味餐馆"),
        (str(early.event_id), "incident:腹泻"),
    ]
    assert outbox_types(db) == ["inspection.task_opened"]
    assert parked_rows(db) == []


def test_wrong_order_within_one_batch_is_applied_in_the_same_transaction(db: Database):
    processor = processor_for(db)
    business = uuid.uuid4()
    early, creating = incident(business), registered(business)

    result = processor.process([early, creating])

    assert result.errors == {}
    assert result.outcomes == {str(early.event_id): "parked", str(creating.event_id): "applied"}
    assert [what for _id, what in effect_rows(db)] == ["registered:好味餐馆", "incident:腹泻"]
    assert parked_rows(db) == [] and outbox_types(db) == ["inspection.task_opened"]


def test_released_events_are_applied_in_the_order_they_were_parked_and_only_theirs(db: Database):
    processor = processor_for(db)
    one, other = uuid.uuid4(), uuid.uuid4()
    waiting = [incident(one, "first"), incident(other, "elsewhere"), incident(one, "second")]
    processor.process(waiting[:2])
    processor.process(waiting[2:])
    later = incident(one, "third")

    creating = registered(one)
    result = processor.process([creating, later])

    assert result.outcomes == {str(creating.event_id): "applied", str(later.event_id): "applied"}
    assert [what for _id, what in effect_rows(db)] == [
        "registered:好味餐馆",
        "incident:first",
        "incident:second",
        "incident:third",
    ]
    [still] = parked_rows(db)
    assert still.event_id == str(waiting[1].event_id) and still.waiting_for == f"business:{other}"


def test_a_redelivered_parked_event_is_a_duplicate_before_and_after_its_release(db: Database):
    processor = processor_for(db)
    business = uuid.uuid4()
    early = incident(business)
    processor.process([early])

    assert processor.process([Envelope.from_bytes(early.to_bytes())]).outcomes == {
        str(early.event_id): "duplicate"
    }
    assert len(parked_rows(db)) == 1

    processor.process([registered(business)])
    assert processor.process([early]).outcomes == {str(early.event_id): "duplicate"}
    # a second registration (a replay of the registry's stream) releases nothing twice
    processor.process([registered(business, name="再次")])
    assert [what for _id, what in effect_rows(db)].count("incident:腹泻") == 1


def test_an_unmarked_handler_parks_too_without_failing_its_batch(db: Database):
    processor = processor_for(db, marked=False)
    business = uuid.uuid4()
    first, early, last = registered(uuid.uuid4(), "甲"), incident(business), registered(uuid.uuid4(), "乙")

    result = processor.process([first, early, last])

    assert result.errors == {}
    assert result.outcomes == {
        str(first.event_id): "applied",
        str(early.event_id): "parked",
        str(last.event_id): "applied",
    }
    assert [what for _id, what in effect_rows(db)] == ["registered:甲", "registered:乙"]
    processor.process([registered(business)])
    assert [what for _id, what in effect_rows(db)][-1] == "incident:腹泻"
    assert parked_rows(db) == []


def test_a_released_event_that_waits_for_something_else_stays_parked_counted(db: Database):
    def needs_two(session: Session, envelope: Envelope, payload: IncidentReported) -> None:
        for business in (payload.business_id, payload.banquet_id):
            known = session.execute(
                sa.select(businesses.c.id).where(businesses.c.id == str(business))
            ).first()
            if known is None:
                raise Unresolved("business", business)
        session.execute(effects.insert().values(event_id=str(envelope.event_id), what="both"))

    processor = InboxProcessor(
        db, CONSUMER, {BusinessRegistered: [on_registered], IncidentReported: [parks(needs_two)]}
    )
    first, second = uuid.uuid4(), uuid.uuid4()
    early = incident(first).model_copy(
        update={"payload": {**incident(first).payload, "banquet_id": str(second)}}
    )
    processor.process([early])
    processor.process([registered(first)])

    [row] = parked_rows(db)
    assert row.waiting_for == f"business:{second}" and row.attempts == 2

    processor.process([registered(second)])
    assert [what for _id, what in effect_rows(db)] == ["registered:好味餐馆", "registered:好味餐馆", "both"]
    assert parked_rows(db) == []


def test_a_released_event_that_fails_stays_parked_and_does_not_fail_the_releasing_event(db: Database):
    def broken(session: Session, envelope: Envelope, payload: IncidentReported) -> None:
        known = session.execute(
            sa.select(businesses.c.id).where(businesses.c.id == str(payload.business_id))
        ).first()
        if known is None:
            raise Unresolved("business", payload.business_id)
        raise RuntimeError("cannot apply this incident")

    processor = InboxProcessor(
        db, CONSUMER, {BusinessRegistered: [on_registered], IncidentReported: [parks(broken)]}
    )
    business = uuid.uuid4()
    early, creating = incident(business), registered(business)
    processor.process([early])

    result = processor.process([creating])

    assert result.errors == {} and result.outcomes == {str(creating.event_id): "applied"}
    assert [what for _id, what in effect_rows(db)] == ["registered:好味餐馆"]
    [row] = parked_rows(db)
    assert row.event_id == str(early.event_id) and row.attempts == 2
    assert "cannot apply this incident" in row.last_error


def test_a_parked_event_is_retried_when_its_record_appeared_without_a_release(db: Database):
    """On PostgreSQL the creating event can commit between the lookup and the parking."""
    processor = processor_for(db)
    business = uuid.uuid4()
    early = incident(business)
    processor.process([early])
    with db.engine.begin() as connection:
        connection.execute(businesses.insert().values(id=str(business), name="悄悄登记"))

    assert processor.retry_parked(utcnow()) == 0  # tried too recently
    assert processor.retry_parked(utcnow() + timedelta(seconds=processor.retry_parked_seconds + 1)) == 1

    assert [what for _id, what in effect_rows(db)] == ["incident:腹泻"]
    assert parked_rows(db) == []


def test_events_parked_longer_than_the_bound_are_gauged_and_logged_once(
    db: Database, caplog: pytest.LogCaptureFixture
):
    processor = processor_for(db)
    processor.retry_parked_seconds = 10_000.0
    one, two = uuid.uuid4(), uuid.uuid4()
    early, fresh = incident(one), incident(two)
    processor.process([early])
    processor.process([fresh])
    first = parked_rows(db)[0]
    later = first.parked_at + timedelta(seconds=1000)
    with db.engine.begin() as connection:  # the second one was parked 600 s after the first
        connection.execute(
            parked.update()
            .where(parked.c.event_id == str(fresh.event_id))
            .values(parked_at=first.parked_at + timedelta(seconds=600))
        )

    with caplog.at_level(logging.ERROR, logger="shian.inbox"):
        stats = processor.check_parked(900, now=later)
        again = processor.check_parked(900, now=later + timedelta(seconds=5))

    assert stats.count == 2 and stats.oldest_age_seconds == pytest.approx(1000)
    assert stats.overdue == [str(early.event_id)]
    assert again.overdue == [str(early.event_id)]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and str(early.event_id) in errors[0].getMessage()

    registry = CollectorRegistry()
    metrics = BusMetrics(registry)
    consumer = StreamConsumer(
        redis=None,  # type: ignore[arg-type]  # observe_parked reads the database only
        stream="t.alerts",
        group="probe",
        processor=processor,
        settings=Settings(parked_max_wait_seconds=900),
        metrics=metrics,
        service="probe",
    )
    asyncio.run(consumer.observe_parked())
    assert registry.get_sample_value("shian_events_parked", {"service": "probe"}) == 2
    age = registry.get_sample_value("shian_events_parked_oldest_age_seconds", {"service": "probe"})
    assert age is not None and age >= 0

    processor.process([registered(one), registered(two)])
    asyncio.run(consumer.observe_parked())
    assert registry.get_sample_value("shian_events_parked", {"service": "probe"}) == 0
    assert registry.get_sample_value("shian_events_parked_oldest_age_seconds", {"service": "probe"}) == 0
