"""Events that reach inspection before the business they name, through a real Redis: the alerts
stream's `incident.reported` ahead of the registry stream's `business.registered`, and registry
events behind a registration retried after them. None of their effects may be lost."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from shared.bus import publish
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.registry import (
    BusinessRegistered,
    BusinessRiskChanged,
    BusinessStatusChanged,
    LicenceRecorded,
)
from shared.clock import to_local
from shared.events import Envelope, EventPayload
from tests.support.county import COUNTY, DONGSHAN, SHANGCUN
from tests.support.inspection import Inspection
from tests.support.waiting import wait_for


def envelope(payload: EventPayload, actor: str) -> Envelope:
    return Envelope.wrap(payload, county_id=COUNTY, township_id=DONGSHAN, actor=actor)


def registration(business_id: uuid.UUID) -> Envelope:
    return envelope(
        BusinessRegistered(
            business_id=business_id,
            name="寿宴承办点",
            kind="catering",
            village_id=SHANGCUN,
            risk_level="B",
            registered_on=date(2020, 1, 1),
        ),
        "system:registry",
    )


def parked(system: Inspection) -> list[tuple[str, str]]:
    with system.runtime.db.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT event_id, waiting_for FROM parked_events ORDER BY id"))
        return [(row.event_id, row.waiting_for) for row in rows]


def directory_row(system: Inspection, business_id: uuid.UUID) -> sa.Row | None:
    with system.runtime.db.engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT status, risk_level, permit_number, last_incident_on"
                " FROM business_directory WHERE id = :id"
            ),
            {"id": business_id.hex},
        ).first()


def parked_gauges(system: Inspection) -> dict[str, float]:
    text = system.client.get("/metrics").text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("shian_events_parked")
        for sample in family.samples
        if sample.labels.get("service") == "inspection"
    }


def test_an_incident_ahead_of_the_registration_still_opens_the_urgent_task_and_the_blackout(
    inspection: Inspection,
):
    business_id = uuid.uuid4()
    reported_at = inspection.clock.now()
    incident = envelope(
        IncidentReported(
            incident_id=uuid.uuid4(),
            business_id=business_id,
            village_id=SHANGCUN,
            place_kind="restaurant",
            ill_count=35,
            death_count=0,
            level="IV",
            reported_at=reported_at,
            description="聚餐后多人腹泻",
        ),
        "system:alerts",
    )

    asyncio.run(publish(inspection.settings, [incident], producer="alerts"))
    wait_for(lambda: parked(inspection), what="inspection to park the incident")
    assert parked(inspection) == [(str(incident.event_id), f"business:{business_id}")]
    assert wait_for(
        lambda: parked_gauges(inspection).get("shian_events_parked") == 1, what="the parked gauge"
    )

    asyncio.run(publish(inspection.settings, [registration(business_id)], producer="registry"))

    def urgent() -> list:
        work = inspection.as_("inspector", "GET", "/worklist").json()
        return [item for item in work["items"] if item["what"] == "urgent_task"]

    [task] = wait_for(urgent, what="the urgent task on the worklist")
    assert task["business_id"] == str(business_id)
    row = directory_row(inspection, business_id)
    assert row is not None and str(row.last_incident_on) == str(to_local(reported_at).date())
    assert parked(inspection) == []
    [opened] = inspection.events("inspection.task_opened")
    assert opened["payload"]["incident_id"] == incident.payload["incident_id"]
    assert opened["correlation_id"] == str(incident.event_id)
    # an inspection inside the blackout gives no grade
    graded = inspection.inspected(str(business_id))
    assert graded["dynamic_grade"] is None and graded["grade_withheld"] is not None
    assert wait_for(
        lambda: parked_gauges(inspection).get("shian_events_parked") == 0, what="the parked gauge to drop"
    )


def test_registry_events_behind_a_retried_registration_are_applied_after_it(inspection: Inspection):
    """A failed entry is retried after later ones: the same stream can deliver a business's status,
    risk and licence before the business."""
    business_id = uuid.uuid4()
    later = [
        envelope(
            BusinessStatusChanged(
                business_id=business_id, status="suspended", previous_status="active", reason="停业整顿"
            ),
            "system:registry",
        ),
        envelope(
            BusinessRiskChanged(
                business_id=business_id, risk_level="D", previous_risk_level="B", reason="不合格"
            ),
            "system:registry",
        ),
        envelope(
            LicenceRecorded(
                business_id=business_id,
                licence_kind="food_permit",
                number="JY13301020000009",
                issued_on=date(2025, 6, 1),
                expires_on=date(2030, 5, 31),
            ),
            "system:registry",
        ),
    ]

    asyncio.run(publish(inspection.settings, later, producer="registry"))
    wait_for(lambda: len(parked(inspection)) == 3, what="inspection to park the three events")
    assert [event_id for event_id, _waiting in parked(inspection)] == [str(e.event_id) for e in later]

    asyncio.run(publish(inspection.settings, [registration(business_id)], producer="registry"))

    wait_for(lambda: not parked(inspection), what="the parked events to be applied")
    row = directory_row(inspection, business_id)
    assert row is not None
    assert (row.status, row.risk_level, row.permit_number) == ("suspended", "D", "JY13301020000009")
