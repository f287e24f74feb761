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
from shared.db import Database
from shared.events import PlaceDefined
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
