"""Projections of the events the known county does not produce, fed straight to reporting's inbox
processor on its own database (no Redis): rectification outcomes, referrals, reclassified
incidents, status changes; and events that arrive before the record they describe."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.reporting.app import SPEC
from services.reporting.database import infra
from services.reporting.handlers import EVENT_HANDLERS
from services.reporting.statistics import service
from services.reporting.statistics.periods import parse_period
from services.reporting.statistics.scope import Scope
from shared.catalogue import alerts as a
from shared.catalogue import inspection as i
from shared.catalogue import registry as r
from shared.db import Database
from shared.events import Envelope, EventPayload
from shared.inbox import InboxProcessor
from shared.migrations import upgrade

COUNTY, TOWN, VILLAGE = "c1", "c1.t1", "c1.t1.v1"
PERIOD = parse_period("2026-H1")
DAY = date(2026, 3, 2)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'reporting.db'}"
    upgrade(SPEC.migrations, url)
    database = Database(url, infra=infra, stream="t.reporting", service="reporting")
    yield database
    database.dispose()


def feed(db: Database, *payloads: EventPayload, at: datetime | None = None) -> None:
    processor = InboxProcessor(db, "reporting", EVENT_HANDLERS)
    occurred = at or datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    envelopes = [
        Envelope.wrap(p, county_id=COUNTY, township_id=TOWN, actor="test", occurred_at=occurred)
        for p in payloads
    ]
    result = processor.process(envelopes)
    assert not result.errors, result.errors


def figures(db: Database) -> dict[str, float]:
    scope = Scope(place_id=TOWN, level="township", name="镇", county_id=COUNTY, township_id=TOWN)
    with db.read_session() as session:
        return {
            key: figure.value for key, figure in service.statistics(session, scope, PERIOD).figures.items()
        }


def business(business_id: uuid.UUID, **changes: object) -> r.BusinessRegistered:
    values = {
        "business_id": business_id,
        "name": "饭店",
        "kind": "catering",
        "village_id": VILLAGE,
        "risk_level": "B",
        "registered_on": date(2025, 1, 1),
        **changes,
    }
    return r.BusinessRegistered(**values)


def test_rectification_outcomes_and_referrals(db: Database):
    shop, inspection = uuid.uuid4(), uuid.uuid4()
    orders = [uuid.uuid4() for _ in range(3)]

    def order(order_id: uuid.UUID, code: str) -> i.RectificationOrdered:
        return i.RectificationOrdered(
            order_id=order_id,
            business_id=shop,
            inspection_id=inspection,
            item_code=code,
            severity="key",
            deadline=DAY,
        )

    feed(db, business(shop), *(order(order_id, f"1.{n}") for n, order_id in enumerate(orders)))
    feed(
        db,
        i.RectificationVerified(
            order_id=orders[0],
            business_id=shop,
            inspection_id=uuid.uuid4(),
            item_code="1.0",
            deadline=DAY,
            verified_on=DAY,
            on_time=True,
        ),
        i.RectificationOverdue(
            order_id=orders[1],
            business_id=shop,
            inspection_id=inspection,
            item_code="1.1",
            deadline=DAY,
            severity="key",
        ),
        i.RectificationEscalated(
            order_id=orders[1],
            business_id=shop,
            inspection_id=inspection,
            item_code="1.1",
            previous_severity="key",
            severity="critical",
            deadline=DAY,
        ),
        i.CaseReferred(case_id=uuid.uuid4(), business_id=shop, reason="涉嫌使用非食品原料"),
    )
    got = figures(db)
    assert got["problems.ordered"] == 3
    assert got["problems.rectified_on_time"] == 1
    assert got["problems.overdue"] == 1
    assert got["problems.open"] == 2
    assert got["problems.referred"] == 1


def test_an_order_verified_before_it_is_known_still_counts_once(db: Database):
    shop, order_id = uuid.uuid4(), uuid.uuid4()
    verified = i.RectificationVerified(
        order_id=order_id,
        business_id=shop,
        inspection_id=uuid.uuid4(),
        item_code="2.1",
        deadline=DAY,
        verified_on=DAY + timedelta(days=3),
        on_time=False,
    )
    feed(db, verified)
    feed(
        db,
        i.RectificationOrdered(
            order_id=order_id,
            business_id=shop,
            inspection_id=uuid.uuid4(),
            item_code="2.1",
            severity="general",
            deadline=DAY,
        ),
    )
    got = figures(db)
    assert (got["problems.ordered"], got["problems.rectified_late"], got["problems.open"]) == (1, 1, 0)


def test_incidents_follow_their_level_counts_and_closure(db: Database):
    incident = uuid.uuid4()
    reported_at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    feed(
        db,
        a.IncidentReported(
            incident_id=incident,
            place_kind="school",
            ill_count=40,
            death_count=0,
            level="IV",
            reported_at=reported_at,
            description="学校食堂",
        ),
        a.IncidentLevelChanged(
            incident_id=incident, previous_level="IV", level="III", ill_count=120, death_count=0
        ),
        a.AlertAcknowledged(incident_id=incident, acknowledged_by="township:x", seconds_since_report=1800),
        a.AlertAcknowledged(incident_id=incident, acknowledged_by="county:y", seconds_since_report=7200),
        a.AlertEscalated(
            incident_id=incident, level="III", step=2, step_name="county", targets=[], reason="x"
        ),
        a.AlertEscalated(
            incident_id=incident, level="III", step=1, step_name="township", targets=[], reason="x"
        ),
        a.IncidentClosed(incident_id=incident, cause="凉拌菜", seconds_since_report=36000),
    )
    got = figures(db)
    assert got["incidents.reported"] == 1
    assert got["incidents.ill"] == 120
    assert got["incidents.minutes_to_acknowledge"] == 30  # the first acknowledgement counts
    assert got["incidents.hours_to_close"] == 10
    assert got["incidents.closed"] == 1
    with db.read_session() as session:
        scope = Scope(place_id=TOWN, level="township", name="镇", county_id=COUNTY, township_id=TOWN)
        levels = service.figure(session, service.BY_KEY["incidents.reported"], scope, PERIOD)
    assert levels.group("III") == 1 and levels.group("IV") == 0


def test_closed_businesses_leave_coverage_and_papers(db: Database):
    open_shop, closed_shop = uuid.uuid4(), uuid.uuid4()
    feed(
        db,
        business(open_shop),
        business(closed_shop, name="关门店"),
        r.LicenceRecorded(
            business_id=closed_shop,
            licence_kind="food_permit",
            number="JY9",
            issued_on=date(2024, 1, 1),
            expires_on=date(2025, 1, 1),
        ),
        r.BusinessStatusChanged(
            business_id=closed_shop, status="closed", previous_status="active", reason="停业"
        ),
        r.BusinessUpdated(
            business_id=open_shop,
            name="新名字",
            kind="workshop",
            village_id=VILLAGE,
            risk_level="C",
            status="active",
        ),
    )
    got = figures(db)
    assert got["coverage.registered"] == 1
    assert got["licences.expired"] == 0
    assert got["licences.missing_permit"] == 1
    assert got["businesses.registered"] == 2
