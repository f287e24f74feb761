"""The idempotent inbox on SQLite: each event applied once, one bad event never blocks the others,
and a failed event leaves nothing half-written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from shared.catalogue.alerts import IncidentReported
from shared.catalogue.registry import PlaceDefined
from shared.db import Database, add_infrastructure_tables, service_base, utcnow
from shared.events import Envelope
from shared.inbox import InboxProcessor

Base = service_base("inboxtest")
infra = add_infrastructure_tables(Base.metadata)
# No unique constraint: a second application of one event would show as a second row.
effects = sa.Table(
    "effects",
    Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("handler", sa.String(40), nullable=False),
    sa.Column("place_id", sa.String(80), nullable=False),
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(
        f"sqlite:///{tmp_path / 'inbox.db'}", infra=infra, stream="t.inboxtest", service="inboxtest"
    )
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def record(name: str):
    def handler(session: Session, envelope: Envelope, payload: PlaceDefined) -> None:
        if payload.name.startswith("fail"):
            raise RuntimeError(f"cannot apply {payload.place_id}")
        session.execute(
            effects.insert().values(event_id=str(envelope.event_id), handler=name, place_id=payload.place_id)
        )

    return handler


def write_then_fail(session: Session, envelope: Envelope, payload: PlaceDefined) -> None:
    """Writes its effect, then fails: the write must not survive."""
    session.execute(
        effects.insert().values(event_id=str(envelope.event_id), handler="half", place_id=payload.place_id)
    )
    if payload.name.startswith("half"):
        raise RuntimeError("failed after writing")


def place(place_id: str, name: str | None = None) -> Envelope:
    return Envelope.wrap(
        PlaceDefined(place_id=place_id, level="village", name=name or place_id, parent_id="t"),
        county_id="qingyun",
        township_id="t",
        actor="test",
    )


def effect_rows(db: Database) -> list[tuple[str, str, str]]:
    with db.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                sa.select(effects.c.event_id, effects.c.handler, effects.c.place_id).order_by(effects.c.id)
            )
        ]


def inbox_ids(db: Database, consumer: str) -> set[str]:
    with db.engine.connect() as connection:
        return set(
            connection.execute(
                sa.select(infra.inbox.c.event_id).where(infra.inbox.c.consumer == consumer)
            ).scalars()
        )


def test_a_batch_is_applied_and_recorded(db: Database):
    processor = InboxProcessor(db, "probe", {PlaceDefined: [record("a")]})
    events = [place(f"v{n}") for n in range(5)]

    result = processor.process(events)

    assert result.errors == {}
    assert result.outcomes == {str(e.event_id): "applied" for e in events}
    assert [row[2] for row in effect_rows(db)] == [f"v{n}" for n in range(5)]
    assert inbox_ids(db, "probe") == {str(e.event_id) for e in events}


def test_duplicates_across_batches_and_within_a_batch_are_skipped(db: Database):
    processor = InboxProcessor(db, "probe", {PlaceDefined: [record("a")]})
    first, second, third = place("v1"), place("v2"), place("v3")

    processor.process([first, second])
    result = processor.process([first, second, third, third])

    assert result.outcomes == {
        str(first.event_id): "duplicate",
        str(second.event_id): "duplicate",
        str(third.event_id): "applied",
    }
    assert result.errors == {}
    counts: dict[str, int] = {}
    for event_id, _handler, _place in effect_rows(db):
        counts[event_id] = counts.get(event_id, 0) + 1
    assert counts == {str(first.event_id): 1, str(second.event_id): 1, str(third.event_id): 1}


def test_the_same_event_id_redelivered_in_a_new_envelope_is_still_a_duplicate(db: Database):
    """Dedup is by event_id, not by the bytes or the Redis entry id (a replay re-publishes)."""
    processor = InboxProcessor(db, "probe", {PlaceDefined: [record("a")]})
    original = place("v1")
    processor.process([original])

    replayed = Envelope.from_bytes(original.to_bytes())
    assert processor.process([replayed]).outcomes == {str(original.event_id): "duplicate"}
    assert len(effect_rows(db)) == 1


def test_each_consumer_keeps_its_own_record_of_what_it_applied(db: Database):
    event = place("v1")
    alerts = InboxProcessor(db, "alerts", {PlaceDefined: [record("alerts")]})
    reporting = InboxProcessor(db, "reporting", {PlaceDefined: [record("reporting")]})

    assert alerts.process([event]).outcomes[str(event.event_id)] == "applied"
    assert reporting.process([event]).outcomes[str(event.event_id)] == "applied"
    assert alerts.process([event]).outcomes[str(event.event_id)] == "duplicate"
    assert sorted(row[1] for row in effect_rows(db)) == ["alerts", "reporting"]


def test_a_failing_event_does_not_block_the_rest_of_its_batch(db: Database):
    processor = InboxProcessor(db, "probe", {PlaceDefined: [record("a")]})
    before, bad, after = place("v1"), place("v2", name="fail-v2"), place("v3")

    result = processor.process([before, bad, after])

    assert result.outcomes[str(before.event_id)] == "applied"
    assert result.outcomes[str(after.event_id)] == "applied"
    assert result.outcomes[str(bad.event_id)] == "failed"
    assert set(result.errors) == {str(bad.event_id)}
    assert "cannot apply v2" in result.errors[str(bad.event_id)]
    assert "RuntimeError" in result.errors[str(bad.event_id)]
    assert [row[2] for row in effect_rows(db)] == ["v1", "v3"]
    assert inbox_ids(db, "probe") == {str(before.event_id), str(after.event_id)}


def test_a_failed_event_is_applied_once_it_succeeds_on_redelivery(db: Database):
    failing = {"on": True}

    def flaky(session: Session, envelope: Envelope, payload: PlaceDefined) -> None:
        if failing["on"]:
            raise RuntimeError("database of record unavailable")
        record("a")(session, envelope, payload)

    processor = InboxProcessor(db, "probe", {PlaceDefined: [flaky]})
    event = place("v1")
    assert set(processor.process([event]).errors) == {str(event.event_id)}
    assert effect_rows(db) == [] and inbox_ids(db, "probe") == set()

    failing["on"] = False
    result = processor.process([event])
    assert result.errors == {} and result.outcomes == {str(event.event_id): "applied"}
    assert len(effect_rows(db)) == 1


def test_nothing_is_half_written_when_a_handler_fails_after_writing(db: Database):
    # Two handlers in a chain: the first writes, the second writes and then fails.
    processor = InboxProcessor(db, "probe", {PlaceDefined: [record("first"), write_then_fail]})
    good, half = place("v1"), place("v2", name="half-v2")

    result = processor.process([good, half])

    assert set(result.errors) == {str(half.event_id)}
    rows = effect_rows(db)
    assert {row[0] for row in rows} == {str(good.event_id)}, rows  # none of v2's writes survived
    assert sorted(row[1] for row in rows) == ["first", "half"]  # v1's two handlers both applied
    assert inbox_ids(db, "probe") == {str(good.event_id)}


def test_a_single_failing_event_leaves_nothing_behind(db: Database):
    processor = InboxProcessor(db, "probe", {PlaceDefined: [write_then_fail]})
    half = place("v1", name="half-v1")

    result = processor.process([half])

    assert result.outcomes == {str(half.event_id): "failed"}
    assert effect_rows(db) == [] and inbox_ids(db, "probe") == set()


def test_an_event_of_an_unknown_version_fails_alone(db: Database):
    processor = InboxProcessor(db, "probe", {PlaceDefined: [record("a")]})
    good = place("v1")
    future = place("v2").model_copy(update={"version": 7})

    result = processor.process([good, future])

    assert set(result.errors) == {str(future.event_id)}
    assert "KeyError" in result.errors[str(future.event_id)]
    assert result.outcomes[str(good.event_id)] == "applied"
    assert [row[2] for row in effect_rows(db)] == ["v1"]


def test_events_without_handlers_are_ignored_and_do_not_disturb_the_batch(db: Database):
    processor = InboxProcessor(db, "probe", {PlaceDefined: [record("a")]})
    incident = Envelope(
        type=IncidentReported.TYPE, county_id="qingyun", actor="x", payload={"anything": "unparsed"}
    )
    good = place("v1")

    result = processor.process([incident, good])

    assert result.errors == {}
    assert result.outcomes == {str(incident.event_id): "ignored", str(good.event_id): "applied"}
    assert not processor.handles(IncidentReported.TYPE) and processor.handles(PlaceDefined.TYPE)
    assert [row[2] for row in effect_rows(db)] == ["v1"]


def test_inbox_rows_carry_type_and_time(db: Database):
    processor = InboxProcessor(db, "probe", {PlaceDefined: [record("a")]})
    started = utcnow()
    event = place("v1")
    processor.process([event])

    with db.engine.connect() as connection:
        row = connection.execute(sa.select(infra.inbox)).one()
    assert row.consumer == "probe" and row.event_id == str(event.event_id)
    assert row.event_type == "place.defined"
    processed_at = row.processed_at
    assert processed_at.tzinfo is not None and processed_at >= started


def test_a_batch_handler_takes_runs_of_its_type_in_order_and_isolates_a_bad_event(db: Database):
    from shared.inbox import batch_handler

    runs: list[list[str]] = []

    @batch_handler
    def project(session: Session, items) -> None:
        if any(payload.name.startswith("fail") for _envelope, payload in items):
            raise RuntimeError("a bad event in the run")
        runs.append([payload.place_id for _envelope, payload in items])
        session.execute(
            effects.insert(),
            [
                {"event_id": str(envelope.event_id), "handler": "batch", "place_id": payload.place_id}
                for envelope, payload in items
            ],
        )

    def other(session: Session, envelope: Envelope, payload: IncidentReported) -> None:
        runs.append([f"incident:{payload.ill_count}"])

    processor = InboxProcessor(db, "inboxtest", {PlaceDefined: [project], IncidentReported: [other]})
    first, second, third = place("v1"), place("v2"), place("v3")
    incident = Envelope.wrap(
        IncidentReported(
            incident_id="00000000-0000-0000-0000-000000000001",
            place_kind="banquet",
            ill_count=31,
            death_count=0,
            level="IV",
            reported_at=utcnow(),
            description="腹泻",
        ),
        county_id="qy",
        township_id="qy.ds",
        actor="test",
    )
    result = processor.process([first, second, incident, third, first])
    assert runs == [["v1", "v2"], ["incident:31"], ["v3"]]
    assert result.outcomes[str(first.event_id)] == "applied"
    assert not result.errors

    runs.clear()
    bad = place("v4", "fail-me")
    good = place("v5")
    result = processor.process([bad, good])
    assert set(result.errors) == {str(bad.event_id)}
    assert runs == [["v5"]]  # replayed one event at a time, the good one committed
    with db.engine.connect() as connection:
        placed = connection.execute(sa.select(effects.c.place_id).order_by(effects.c.id)).scalars().all()
    assert placed == ["v1", "v2", "v3", "v5"]


def test_an_exhausted_connection_pool_is_the_database_s_fault_not_the_event_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """QueuePool's TimeoutError must not count as a failed delivery towards the dead-letter limit:
    the consumer retries the same batch once a connection is free."""
    import functools

    from shared.bus import TransientError

    real_create_engine = sa.create_engine
    monkeypatch.setattr(
        sa,
        "create_engine",
        functools.partial(real_create_engine, pool_size=1, max_overflow=0, pool_timeout=0.2),
    )
    database = Database(f"sqlite:///{tmp_path / 'pool.db'}", infra=infra, stream="t.pool", service="pool")
    monkeypatch.setattr(sa, "create_engine", real_create_engine)
    Base.metadata.create_all(database.engine)
    processor = InboxProcessor(database, "probe", {PlaceDefined: [record("a")]})
    try:
        for batch in ([place("v1")], [place("v2"), place("v3")]):
            # the pool's only connection is taken
            with database.engine.connect(), pytest.raises(TransientError):
                processor.process(batch)
            result = processor.process(batch)  # and once it is back, the batch applies
            assert result.errors == {}
            assert set(result.outcomes.values()) == {"applied"}
        assert [row[2] for row in effect_rows(database)] == ["v1", "v2", "v3"]
    finally:
        database.dispose()
