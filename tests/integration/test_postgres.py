"""The services on PostgreSQL: migrations, and two outbox relays sharing one outbox.

Runs when a PostgreSQL is given (SHIAN_TEST_DATABASE_URL) or a container can be started; each test
creates its own database and drops it afterwards.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from services.registry.app import SPEC as REGISTRY
from shared.bus import Bus
from shared.catalogue.registry import PlaceDefined
from shared.db import Database
from shared.metrics import BusMetrics
from shared.migrations import upgrade
from shared.outbox import OutboxRelay, emit
from shared.settings import Settings

pytestmark = pytest.mark.integration


def test_registry_migrates_on_postgres(pg_database):
    url = pg_database()
    upgrade(REGISTRY.migrations, url)
    engine = sa.create_engine(url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"places", "businesses", "outbox", "inbox", "audit_log", "alembic_version"} <= tables


async def test_two_relays_share_one_outbox_without_publishing_a_row_twice(pg_database, settings: Settings):
    url = pg_database()
    upgrade(REGISTRY.migrations, url)
    settings = settings.model_copy(update={"relay_batch_size": 50})
    db = Database(url, infra=REGISTRY.infra, stream=settings.stream("registry"), service="registry")
    total = 1_000
    with db.session() as session:
        for number in range(total):
            emit(
                session,
                PlaceDefined(place_id=f"v{number}", level="village", name=f"村{number}", parent_id="t"),
                county_id="qingyun",
                township_id="t",
                actor="test",
            )

    relays = []
    for _ in range(2):
        bus = Bus(settings, "registry")
        await bus.connect()
        metrics = BusMetrics(__import__("prometheus_client").CollectorRegistry())
        relays.append((bus, OutboxRelay(db, bus, settings, metrics)))

    async def drain(relay: OutboxRelay) -> int:
        published = 0
        while (count := await relay.publish_batch()) > 0:
            published += count
        return published

    counts = await asyncio.gather(*(drain(relay) for _bus, relay in relays))
    redis = relays[0][0].redis
    entries = await redis.xrange(settings.stream("registry"))
    for bus, _relay in relays:
        await bus.close()
    db.dispose()

    assert sum(counts) == total
    assert all(count > 0 for count in counts), counts  # both relays took part
    assert len(entries) == total  # no row published twice


@pytest.mark.parametrize("batch", ["alone", "with another event"])
def test_two_replicas_applying_one_event_at_once_report_no_failure(pg_database, caplog, batch: str):
    """A reclaim race: the second replica checks the inbox before the first commits, so its own
    inbox insert hits the primary key. That is no event's fault: the batch is retried once in a
    fresh transaction, where the event is a duplicate and the rest of the batch applies."""
    import logging
    import threading

    from shared.db import add_infrastructure_tables, service_base
    from shared.inbox import InboxProcessor

    base = service_base("racetest")
    infra = add_infrastructure_tables(base.metadata)
    effects = sa.Table(
        "effects",
        base.metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("replica", sa.String(8), nullable=False),
    )
    url = pg_database()
    first = Database(url, infra=infra, stream="t.race", service="race")
    second = Database(url, infra=infra, stream="t.race", service="race")
    base.metadata.create_all(first.engine)
    inside, go_on = threading.Event(), threading.Event()

    def effect(replica: str, wait: bool):
        def handler(session, envelope, payload) -> None:
            if wait and payload.place_id == "v1":
                inside.set()
                assert go_on.wait(10)
            session.execute(effects.insert().values(event_id=str(envelope.event_id), replica=replica))

        return handler

    def place(place_id: str):
        from shared.events import Envelope

        return Envelope.wrap(
            PlaceDefined(place_id=place_id, level="village", name=place_id, parent_id="t"),
            county_id="qingyun",
            township_id="t",
            actor="test",
        )

    slow = InboxProcessor(first, "race", {PlaceDefined: [effect("first", wait=True)]})
    fast = InboxProcessor(second, "race", {PlaceDefined: [effect("second", wait=False)]})
    contested, other = place("v1"), place("v2")
    results = {}
    try:
        with caplog.at_level(logging.INFO, logger="shian.inbox"):
            mine = [contested] if batch == "alone" else [contested, other]
            thread = threading.Thread(target=lambda: results.update(slow=slow.process(mine)))
            thread.start()
            assert inside.wait(10)  # the first replica checked its inbox and is applying the batch
            results["fast"] = fast.process([contested])
            go_on.set()
            thread.join(20)
    finally:
        go_on.set()
        first.dispose()
        second.dispose()

    assert results["fast"].outcomes == {str(contested.event_id): "applied"}
    assert results["slow"].errors == {}
    expected = {str(contested.event_id): "duplicate"}
    if batch != "alone":
        expected[str(other.event_id)] = "applied"
    assert results["slow"].outcomes == expected
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            applied = connection.execute(
                sa.select(effects.c.event_id, effects.c.replica).order_by(effects.c.id)
            )
            wanted = [(str(contested.event_id), "second")]
            if batch != "alone":
                wanted.append((str(other.event_id), "first"))
            assert sorted(tuple(row) for row in applied) == sorted(wanted)
    finally:
        engine.dispose()

    # psycopg may add, as the transaction that hit the primary key unwinds, that ending its
    # pipeline failed too ("error ignored terminating ... pipeline aborted"): the same unique
    # violation, already handled by the retry, and logged or not as the timing falls
    def teardown_note(record: logging.LogRecord) -> bool:
        return record.name == "psycopg" and "error ignored terminating" in str(record.msg)

    assert [r for r in caplog.records if r.levelno >= logging.WARNING and not teardown_note(r)] == []
    assert any("applied meanwhile by another consumer" in r.getMessage() for r in caplog.records)


def test_parking_and_release_on_postgres(pg_database):
    """Savepoints, the parked table and the release on PostgreSQL: an incident before its business
    is parked, then applied right after the registration, once."""
    import uuid

    from shared.inbox import InboxProcessor
    from tests.unit.test_parking import (
        Base,
        effect_rows,
        incident,
        infra,
        parked_rows,
        processor_for,
        registered,
    )

    url = pg_database()
    db = Database(url, infra=infra, stream="t.parkingtest", service="parkingtest")
    Base.metadata.create_all(db.engine)
    try:
        processor: InboxProcessor = processor_for(db)
        business = uuid.uuid4()
        early, creating = incident(business), registered(business)
        assert processor.process([early]).outcomes == {str(early.event_id): "parked"}
        assert [row.event_id for row in parked_rows(db)] == [str(early.event_id)]
        assert processor.process([creating, early]).outcomes == {
            str(creating.event_id): "applied",
            str(early.event_id): "duplicate",
        }
        assert [what for _id, what in effect_rows(db)] == ["registered:好味餐馆", "incident:腹泻"]
        assert parked_rows(db) == []
    finally:
        db.dispose()
