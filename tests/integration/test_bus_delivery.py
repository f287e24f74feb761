"""Delivery guarantees of the bus, against a real Redis with real consumer processes.

The consumer is `tests.support.consumer_proc`: Shian's StreamConsumer and InboxProcessor writing
each event's effect into a table WITHOUT a unique constraint, so a double application would show.
Processes are crashed with SIGKILL at chosen points (mid-batch; after commit and before ack),
Redis is flushed, killed and restarted, and the registry's outbox is exercised with Redis down.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient

from services.registry.app import SPEC as REGISTRY
from services.registry.app import create as create_registry
from shared.auth import Role, issue_token
from shared.bus import decode_entry, list_deadletters, publish, replay_deadletters
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.registry import BusinessRegistered, PlaceDefined
from shared.events import Envelope
from shared.localredis import RedisHandle
from shared.migrations import upgrade
from shared.settings import Settings
from tests.support.processes import (
    ProbeConsumer,
    applied_counts,
    inbox_ids,
    query,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

ProbeFactory = Callable[..., ProbeConsumer]


@pytest.fixture
def probes(tmp_path: Path) -> Iterator[ProbeFactory]:
    """Makes probe consumers sharing one database (runs of one service); all killed at the end."""
    made: list[ProbeConsumer] = []

    def make(settings: Settings, name: str, **options: object) -> ProbeConsumer:
        probe = ProbeConsumer(settings=settings, workdir=tmp_path / "probe", name=name, **options)  # type: ignore[arg-type]
        made.append(probe)
        return probe

    yield make
    for probe in made:
        probe.close()


def places(count: int, prefix: str = "v") -> list[Envelope]:
    return [
        Envelope.wrap(
            PlaceDefined(place_id=f"{prefix}{n}", level="village", name=f"村{n}", parent_id="t"),
            county_id="qingyun",
            township_id="t",
            actor="test",
        )
        for n in range(count)
    ]


def ids(envelopes: list[Envelope]) -> set[str]:
    return {str(envelope.event_id) for envelope in envelopes}


def client_for(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url, socket_timeout=5)


def pending(client: redis.Redis, settings: Settings, group: str = "probe") -> list[dict]:
    return client.xpending_range(settings.stream("registry"), group, min="-", max="+", count=10_000)


def entry_event_ids(client: redis.Redis, stream: str) -> dict[bytes, str]:
    """Redis entry id -> event id, for every entry in the stream."""
    return {entry_id: str(decode_entry(fields).event_id) for entry_id, fields in client.xrange(stream)}


def assert_exactly_once(probe: ProbeConsumer, expected: set[str], *, deadletters: int = 0) -> None:
    """Every expected event applied once, none twice, nothing else; and no event given up on."""
    counts = applied_counts(probe.db_path)
    twice = {event_id: n for event_id, n in counts.items() if n != 1}
    assert not twice, f"applied more than once: {twice}"
    assert set(counts) == expected, f"missing {len(expected - set(counts))}, extra {set(counts) - expected}"
    assert inbox_ids(probe.db_path) == expected
    client = client_for(probe.settings)
    dead = client.xrange(probe.settings.deadletter_stream)
    assert len(dead) == deadletters, [fields.get(b"error", b"")[:300] for _id, fields in dead]


def wait_all_applied(probe: ProbeConsumer, expected: set[str], timeout: float = 20.0) -> None:
    wait_until(
        lambda: expected <= set(applied_counts(probe.db_path)),
        timeout=timeout,
        what=f"{len(expected)} events applied",
        detail=lambda: f"applied {len(set(applied_counts(probe.db_path)) & expected)}\n{probe.log()}",
    )


# --- consumer down, then up -------------------------------------------------------------------


def test_events_published_before_the_first_start_and_while_down_are_delivered(
    settings: Settings, probes: ProbeFactory
):
    client = client_for(settings)
    stream = settings.stream("registry")
    early = places(20, "early")
    asyncio.run(publish(settings, early))
    assert client.xlen(stream) == 20
    assert client.xinfo_groups(stream) == []  # no consumer has ever run

    first = probes(settings, "first").start()
    first.wait_ready()
    wait_all_applied(first, ids(early))
    assert first.terminate() == 0, first.log()
    assert "stopped cleanly" in first.log_path.read_text()

    late = places(15, "late")
    asyncio.run(publish(settings, late))  # nobody is reading now
    second = probes(settings, "second").start()
    assert second.wait_ready() != first.ready_path.read_text()  # a new consumer name
    wait_all_applied(second, ids(late))

    assert_exactly_once(second, ids(early) | ids(late))
    wait_until(lambda: pending(client, settings) == [], timeout=5, what="nothing pending")


# --- crashes ----------------------------------------------------------------------------------


def test_a_consumer_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    settings: Settings, probes: ProbeFactory
):
    settings = settings.model_copy(update={"batch_size": 5})
    client = client_for(settings)
    events = places(60)
    asyncio.run(publish(settings, events))

    # The 23rd handler call is the third event of the fifth batch: four batches are committed
    # and acked, the fifth is half applied inside its open transaction when the process dies.
    doomed = probes(settings, "doomed", delay=0.01, mark_at=23).start()
    doomed_name = doomed.wait_ready()
    wait_until(doomed.marker_path.exists, timeout=20, what="the mid-batch mark", detail=doomed.log)
    doomed.kill()

    committed = applied_counts(doomed.db_path)
    assert len(committed) == 20, len(committed)
    assert doomed.marker_path.read_text() not in committed
    stranded = [row for row in pending(client, settings) if row["consumer"] == doomed_name.encode()]
    assert len(stranded) == 5, stranded  # the batch being applied, delivered and never acked

    survivor = probes(settings, "survivor").start()
    survivor_name = survivor.wait_ready()
    assert survivor_name != doomed_name
    wait_all_applied(survivor, ids(events))
    wait_until(lambda: pending(client, settings) == [], timeout=10, what="nothing pending")

    assert_exactly_once(survivor, ids(events))
    # The stranded entries were taken over (XAUTOCLAIM): the survivor applied them itself.
    by_entry = entry_event_ids(client, settings.stream("registry"))
    stranded_ids = {by_entry[row["message_id"]] for row in stranded}
    applied_by = dict(query(survivor.db_path, "SELECT event_id, pid FROM effects"))
    assert {applied_by[event_id] for event_id in stranded_ids} == {survivor.pid}


def test_a_crash_after_commit_and_before_ack_is_deduplicated_when_reclaimed(
    settings: Settings, probes: ProbeFactory
):
    settings = settings.model_copy(update={"batch_size": 5})
    client = client_for(settings)
    events = places(30)
    asyncio.run(publish(settings, events))

    doomed = probes(settings, "doomed", hang_after=12).start()
    doomed_name = doomed.wait_ready()
    wait_until(doomed.marker_path.exists, timeout=20, what="the hang after commit", detail=doomed.log)
    committed_unacked = set(doomed.marker_path.read_text().split(","))
    doomed.kill()

    assert len(committed_unacked) == 5
    assert committed_unacked <= set(applied_counts(doomed.db_path))  # their effects are committed
    by_entry = entry_event_ids(client, settings.stream("registry"))
    stranded = {
        by_entry[row["message_id"]]
        for row in pending(client, settings)
        if row["consumer"] == doomed_name.encode()
    }
    assert stranded == committed_unacked  # ... and Redis will deliver them again

    survivor = probes(settings, "survivor").start()
    survivor.wait_ready()
    wait_all_applied(survivor, ids(events))
    wait_until(lambda: pending(client, settings) == [], timeout=10, what="redelivered entries acked")

    assert_exactly_once(survivor, ids(events))


# --- parked events ---------------------------------------------------------------------------


def incidents_before_their_businesses(count: int) -> list[Envelope]:
    """For each business, its incident first and its registration after (one stream here; across
    streams in Shian), so that every incident is parked and then released."""
    events: list[Envelope] = []
    for n in range(count):
        business_id = uuid.uuid4()
        events.append(
            Envelope.wrap(
                IncidentReported(
                    incident_id=uuid.uuid4(),
                    business_id=business_id,
                    place_kind="restaurant",
                    ill_count=10 + n,
                    death_count=0,
                    level="IV",
                    reported_at=datetime.now(UTC),
                    description="腹泻",
                ),
                county_id="qingyun",
                township_id="t",
                actor="test",
            )
        )
        events.append(
            Envelope.wrap(
                BusinessRegistered(
                    business_id=business_id,
                    name=f"餐馆{n}",
                    kind="catering",
                    risk_level="B",
                    registered_on=date(2026, 1, 1),
                ),
                county_id="qingyun",
                township_id="t",
                actor="test",
            )
        )
    return events


@pytest.mark.parametrize("crash", ["while applying a released event", "after commit, before ack"])
def test_a_parked_event_is_applied_once_across_a_crash(settings: Settings, probes: ProbeFactory, crash: str):
    settings = settings.model_copy(update={"batch_size": 4})
    client = client_for(settings)
    events = incidents_before_their_businesses(6)
    asyncio.run(publish(settings, events))

    # Handler calls count applications only (a park is not one): the 2nd is the first business's
    # released incident, applied inside the transaction of its registration.
    options = {"mark_at": 2} if crash.startswith("while") else {"hang_after": 1}
    doomed = probes(settings, "doomed", park=True, **options).start()
    doomed.wait_ready()
    wait_until(doomed.marker_path.exists, timeout=20, what="the crash point", detail=doomed.log)
    doomed.kill()
    if crash.startswith("while"):
        assert applied_counts(doomed.db_path) == {}  # the release's transaction never committed
        assert query(doomed.db_path, "SELECT event_id FROM parked_events") == [(str(events[0].event_id),)]

    survivor = probes(settings, "survivor", park=True).start()
    survivor.wait_ready()
    wait_all_applied(survivor, ids(events))
    wait_until(lambda: pending(client, settings) == [], timeout=10, what="nothing pending")

    assert_exactly_once(survivor, ids(events))
    assert query(survivor.db_path, "SELECT count(*) FROM parked_events") == [(0,)]
    order = [row[0] for row in query(survivor.db_path, "SELECT event_id FROM effects ORDER BY id")]
    for n in range(0, len(events), 2):  # each incident after its business
        incident, registration = str(events[n].event_id), str(events[n + 1].event_id)
        assert order.index(registration) < order.index(incident)


# --- dead letters -----------------------------------------------------------------------------


def test_a_poison_event_is_dead_lettered_after_max_deliveries_and_can_be_replayed(
    settings: Settings, probes: ProbeFactory, tmp_path: Path
):
    settings = settings.model_copy(update={"max_deliveries": 3, "batch_size": 10})
    client = client_for(settings)
    events = places(5)
    poison = str(events[2].event_id)
    fail_file = tmp_path / "fail.txt"
    fail_file.write_text(poison + "\n")
    asyncio.run(publish(settings, events))

    probe = probes(settings, "probe", fail_file=fail_file).start()
    probe.wait_ready()
    healthy = ids(events) - {poison}
    wait_all_applied(probe, healthy)  # the poison event does not hold up its batch

    dead = wait_until(
        lambda: client.xrange(settings.deadletter_stream),
        timeout=15,
        what="the dead letter",
        detail=probe.log,
    )
    assert len(dead) == 1
    fields = {key.decode(): value for key, value in dead[0][1].items()}
    assert fields["event_id"].decode() == poison
    assert fields["event_type"] == b"place.defined"
    assert fields["stream"].decode() == settings.stream("registry")
    assert fields["group"] == b"probe"
    assert f"probe refuses event {poison}" in fields["error"].decode()
    assert decode_entry({b"__data__": fields["__data__"]}).event_id == events[2].event_id
    # The handler ran exactly max_deliveries times, then the entry was taken out of the group.
    assert probe.log_path.read_text().count(f"probe: delivery of {poison} failed") == 3
    assert fields["deliveries"] == b"3"  # the attempts, as the dead letter records them
    wait_until(lambda: pending(client, settings) == [], timeout=5, what="the dead letter acked")
    assert not client.exists(f"{settings.stream('registry')}.errors.probe")

    listed = asyncio.run(_list_deadletters(settings))
    assert [(letter.event_id, letter.group) for letter in listed] == [(poison, "probe")]
    assert "probe refuses event" in listed[0].error

    later = places(3, "later")  # the consumer goes on
    asyncio.run(publish(settings, later))
    wait_all_applied(probe, ids(later))

    fail_file.write_text("")  # the bug is fixed; the operator replays
    replayed = asyncio.run(_replay(settings))
    assert replayed == [dead[0][0].decode()]
    assert client.xlen(settings.deadletter_stream) == 0
    wait_all_applied(probe, {poison})
    assert_exactly_once(probe, ids(events) | ids(later))


async def _list_deadletters(settings: Settings):
    client = redis.asyncio.Redis.from_url(settings.redis_url)
    try:
        return await list_deadletters(client, settings)
    finally:
        await client.aclose()


async def _replay(settings: Settings) -> list[str]:
    client = redis.asyncio.Redis.from_url(settings.redis_url)
    try:
        return await replay_deadletters(client, settings)
    finally:
        await client.aclose()


def test_an_unreadable_entry_is_dead_lettered_at_once(settings: Settings, probes: ProbeFactory):
    # A claim time far beyond the test: the entries must not need a reclaim to leave the group.
    settings = settings.model_copy(update={"claim_idle_ms": 600_000})
    client = client_for(settings)
    stream = settings.stream("registry")
    probe = probes(settings, "probe").start()
    probe.wait_ready()

    before = places(2, "before")
    asyncio.run(publish(settings, before))
    garbage = client.xadd(stream, {"garbage": "yes"})
    not_an_envelope = client.xadd(stream, {"__data__": b'{"hello": "world"}'})
    after = places(2, "after")
    asyncio.run(publish(settings, after))

    wait_all_applied(probe, ids(before) | ids(after))
    dead = wait_until(
        lambda: (entries := client.xrange(settings.deadletter_stream)) and len(entries) == 2 and entries,
        timeout=10,
        what="two dead letters",
        detail=probe.log,
    )
    by_entry = {fields[b"entry_id"]: fields for _id, fields in dead}
    assert set(by_entry) == {garbage, not_an_envelope}
    for fields in by_entry.values():
        assert fields[b"deliveries"] == b"1"
        assert fields[b"error"].startswith(b"unreadable entry")
    assert by_entry[not_an_envelope][b"__data__"] == b'{"hello": "world"}'
    assert pending(client, settings) == []
    assert_exactly_once(probe, ids(before) | ids(after), deadletters=2)


# --- Redis flushed, killed, restarted ---------------------------------------------------------


def test_a_consumer_survives_a_flushed_redis(
    redis_server: RedisHandle, settings: Settings, probes: ProbeFactory
):
    settings = settings.model_copy(update={"redis_url": redis_server.url})
    client = client_for(settings)
    stream = settings.stream("registry")
    probe = probes(settings, "probe").start()
    probe.wait_ready()
    before = places(5, "before")
    asyncio.run(publish(settings, before))
    wait_all_applied(probe, ids(before))

    client.flushall()
    assert not client.exists(stream)
    wait_until(  # only the consumer can bring its group back
        lambda: client.exists(stream) and [g["name"] for g in client.xinfo_groups(stream)] == [b"probe"],
        timeout=10,
        what="the consumer to recreate its group",
        detail=probe.log,
    )
    after = places(5, "after")
    asyncio.run(publish(settings, after))

    wait_all_applied(probe, ids(after))
    assert_exactly_once(probe, ids(before) | ids(after))


def test_a_consumer_reconnects_after_redis_is_killed_and_restarted(
    redis_server: RedisHandle, settings: Settings, probes: ProbeFactory
):
    settings = settings.model_copy(update={"redis_url": redis_server.url})
    probe = probes(settings, "probe").start()
    probe.wait_ready()
    before = places(5, "before")
    asyncio.run(publish(settings, before))
    wait_all_applied(probe, ids(before))

    logged = probe.log_path.stat().st_size
    redis_server.kill()
    wait_until(  # its blocking read (block_ms) fails and it says so, and goes on retrying
        lambda: probe.log_path.stat().st_size > logged,
        timeout=15,
        what="the consumer to notice Redis is gone",
        detail=probe.log,
    )
    assert not probe.exited(), probe.log()
    redis_server.start()  # same port, empty dataset

    after = places(5, "after")
    asyncio.run(publish(settings, after))
    wait_all_applied(probe, ids(after), timeout=30)
    assert_exactly_once(probe, ids(before) | ids(after))


# --- the outbox while Redis is down -----------------------------------------------------------

DEFINITION = {
    "id": "qingyun",
    "name": "青云县",
    "townships": [
        {
            "id": "qingyun.dongshan",
            "name": "东山镇",
            "villages": [{"id": "qingyun.dongshan.shangcun", "name": "上村", "coordinator": "李明"}],
        }
    ],
}


def outbox_rows(settings: Settings) -> list[tuple[str, str, object]]:
    engine = sa.create_engine(settings.database_url("registry"))
    try:
        with engine.connect() as connection:
            return [
                tuple(row)
                for row in connection.execute(
                    sa.text("SELECT event_id, event_type, published_at FROM outbox ORDER BY id")
                )
            ]
    finally:
        engine.dispose()


def test_the_outbox_keeps_events_while_redis_is_down_and_publishes_them_when_it_returns(
    redis_server: RedisHandle, settings: Settings, probes: ProbeFactory
):
    settings = settings.model_copy(update={"redis_url": redis_server.url})
    upgrade(REGISTRY.migrations, settings.database_url("registry"))
    token = issue_token(settings, subject="county-office", role=Role.county, county_id="qingyun")
    headers = {"Authorization": f"Bearer {token}"}
    stream = settings.stream("registry")
    client = client_for(settings)

    with TestClient(create_registry(settings)) as registry:
        runtime = registry.app.state.runtime
        wait_until(lambda: runtime.relay.healthy, timeout=10, what="the relay to run")
        redis_server.kill()

        response = registry.put("/places", json=DEFINITION, headers=headers)
        assert response.status_code == 200, response.text
        response = registry.post(
            "/businesses",
            json={"name": "好味餐馆", "kind": "catering", "village_id": "qingyun.dongshan.shangcun"},
            headers=headers,
        )
        assert response.status_code == 201, response.text  # the write does not need Redis
        business_id = response.json()["id"]

        rows = outbox_rows(settings)
        registered = [row for row in rows if row[1] == "business.registered"]
        assert len(registered) == 1 and registered[0][2] is None
        wait_until(lambda: not runtime.relay.healthy, timeout=10, what="the relay to notice Redis is down")
        assert all(published_at is None for _id, _type, published_at in outbox_rows(settings))

        redis_server.start()  # same port, empty dataset
        wait_until(
            lambda: all(published_at is not None for _id, _type, published_at in outbox_rows(settings)),
            timeout=20,
            what="the outbox to drain",
        )
    assert client.xlen(stream) == len(rows)  # each row published once

    probe = probes(settings, "probe").start()
    probe.wait_ready()
    wait_all_applied(probe, {row[0] for row in rows})
    assert_exactly_once(probe, {row[0] for row in rows})
    event_types = dict(query(probe.db_path, "SELECT event_id, event_type FROM effects"))
    assert event_types[registered[0][0]] == "business.registered"
    entry = next(
        decode_entry(fields)
        for _id, fields in client.xrange(stream)
        if decode_entry(fields).event_id == uuid.UUID(registered[0][0])
    )
    assert entry.payload["business_id"] == business_id
