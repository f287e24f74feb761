"""Reporting's read models when an event arrives before the one that creates its record, through
a real Redis: a failed `incident.reported` or `business.registered` is retried after the later
events of its stream, which only change the record. They wait, parked, and are projected (and
archived) after it, as if the order had been right."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from services.reporting.app import SPEC, create
from services.reporting.rebuild.service import rebuild
from shared.bus import publish
from shared.catalogue.alerts import (
    AlertAcknowledged,
    AlertEscalated,
    IncidentClosed,
    IncidentLevelChanged,
    IncidentReported,
)
from shared.catalogue.registry import (
    BusinessGraded,
    BusinessRegistered,
    BusinessRiskChanged,
    BusinessStatusChanged,
    LicenceExpired,
    LicenceRecorded,
)
from shared.events import Envelope, EventPayload
from shared.migrations import upgrade
from shared.service import ServiceRuntime
from shared.settings import Settings
from tests.support.county import COUNTY, DONGSHAN, SHANGCUN
from tests.support.waiting import wait_for


@pytest.fixture
def reporting(settings: Settings) -> Iterator[TestClient]:
    upgrade(SPEC.migrations, settings.database_url("reporting"))
    with TestClient(create(settings)) as client:
        yield client


def runtime(client: TestClient) -> ServiceRuntime:
    return client.app.state.runtime  # type: ignore[attr-defined]


def envelope(payload: EventPayload) -> Envelope:
    return Envelope.wrap(payload, county_id=COUNTY, township_id=DONGSHAN, actor="test")


def query(client: TestClient, sql: str, **params: object) -> list[sa.Row]:
    with runtime(client).db.engine.connect() as connection:
        return list(connection.execute(sa.text(sql), params))


def parked_ids(client: TestClient) -> list[str]:
    return [row.event_id for row in query(client, "SELECT event_id FROM parked_events ORDER BY id")]


def archived_ids(client: TestClient) -> list[str]:
    return [row.event_id for row in query(client, "SELECT event_id FROM event_archive ORDER BY seq")]


def test_incident_updates_ahead_of_the_incident_are_projected_after_it(reporting: TestClient):
    incident_id = uuid.uuid4()
    reported_at = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    later = [
        envelope(
            IncidentLevelChanged(
                incident_id=incident_id, previous_level="IV", level="III", ill_count=45, death_count=0
            )
        ),
        envelope(
            AlertAcknowledged(incident_id=incident_id, acknowledged_by="ds-office", seconds_since_report=600)
        ),
        envelope(
            AlertEscalated(
                incident_id=incident_id,
                level="III",
                step=2,
                step_name="county",
                targets=["role:county_office@qingyun"],
                reason="unacknowledged",
            )
        ),
        envelope(IncidentClosed(incident_id=incident_id, cause="凉菜污染", seconds_since_report=86400)),
    ]
    reported = envelope(
        IncidentReported(
            incident_id=incident_id,
            village_id=SHANGCUN,
            place_kind="restaurant",
            ill_count=35,
            death_count=0,
            level="IV",
            reported_at=reported_at,
            description="聚餐后多人腹泻",
        )
    )
    settings = runtime(reporting).settings

    asyncio.run(publish(settings, later, producer="alerts"))
    wait_for(lambda: len(parked_ids(reporting)) == 4, what="reporting to park the four updates")
    assert parked_ids(reporting) == [str(e.event_id) for e in later]
    assert query(reporting, "SELECT id FROM report_incidents") == []
    assert archived_ids(reporting) == []  # archived when applied, so a rebuild replays them in order

    asyncio.run(publish(settings, [reported], producer="alerts"))
    wait_for(lambda: not parked_ids(reporting), what="the updates to be applied")

    [row] = query(
        reporting,
        "SELECT level, ill_count, status, seconds_to_acknowledge, escalation_steps, cause, seconds_to_close"
        " FROM report_incidents",
    )
    assert tuple(row) == ("III", 45, "closed", 600.0, 2, "凉菜污染", 86400.0)
    assert archived_ids(reporting) == [str(reported.event_id)] + [str(e.event_id) for e in later]

    with runtime(reporting).db.engine.begin() as connection:  # a rebuild gives the same figures
        connection.execute(sa.text("DELETE FROM report_incidents"))
    report = rebuild(runtime(reporting).db)
    assert report.unresolved == 0
    [again] = query(
        reporting,
        "SELECT level, ill_count, status, seconds_to_acknowledge, escalation_steps, cause, seconds_to_close"
        " FROM report_incidents",
    )
    assert tuple(again) == tuple(row)


def test_business_and_licence_changes_ahead_of_the_registration_are_projected_after_it(
    reporting: TestClient,
):
    business_id = uuid.uuid4()
    later = [
        envelope(
            BusinessStatusChanged(
                business_id=business_id, status="suspended", previous_status="active", reason="停业整顿"
            )
        ),
        envelope(
            BusinessRiskChanged(business_id=business_id, risk_level="D", previous_risk_level="B", reason="x")
        ),
        envelope(
            BusinessGraded(
                business_id=business_id,
                inspection_id=uuid.uuid4(),
                inspected_on=date(2026, 3, 2),
                dynamic_grade="fair",
                score=72.0,
            )
        ),
        envelope(
            LicenceExpired(
                business_id=business_id,
                licence_kind="food_permit",
                number="JY13301020000009",
                expires_on=date(2026, 3, 1),
            )
        ),
    ]
    creating = [
        envelope(
            BusinessRegistered(
                business_id=business_id,
                name="寿宴承办点",
                kind="catering",
                village_id=SHANGCUN,
                risk_level="B",
                registered_on=date(2020, 1, 1),
            )
        ),
        envelope(
            LicenceRecorded(
                business_id=business_id,
                licence_kind="food_permit",
                number="JY13301020000009",
                issued_on=date(2021, 3, 2),
                expires_on=date(2026, 3, 1),
            )
        ),
    ]
    settings = runtime(reporting).settings

    asyncio.run(publish(settings, later, producer="registry"))
    wait_for(lambda: len(parked_ids(reporting)) == 4, what="reporting to park the four changes")
    waiting = query(reporting, "SELECT waiting_for FROM parked_events ORDER BY id")
    assert [row.waiting_for for row in waiting] == [f"business:{business_id}"] * 3 + [
        f"licence:{business_id}:food_permit"
    ]

    asyncio.run(publish(settings, creating, producer="registry"))
    wait_for(lambda: not parked_ids(reporting), what="the changes to be applied")

    [business] = query(
        reporting, "SELECT status, risk_level, last_grade, last_graded_on FROM report_businesses"
    )
    assert (business.status, business.risk_level, business.last_grade) == ("suspended", "D", "fair")
    assert str(business.last_graded_on) == "2026-03-02"
    [licence] = query(reporting, "SELECT number, notice FROM report_licences")
    assert (licence.number, licence.notice) == ("JY13301020000009", "expired")
