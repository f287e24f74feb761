"""The registry suspends only a business the incident's reporter may act on (hardening issue,
item 9): the second lock behind alerts' own check of the business a report names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.catalogue.alerts import IncidentReported
from shared.events import Envelope
from tests.support.county import COUNTY, DONGSHAN, SHANGCUN, XIACUN, XISHUI
from tests.support.registry import Registry


def death_reported(business_id: str, *, actor: str, township_id: str, village_id: str | None) -> Envelope:
    """A level III incident (one death) naming the business."""
    return Envelope.wrap(
        IncidentReported(
            incident_id=uuid.uuid4(),
            village_id=village_id,
            business_id=uuid.UUID(business_id),
            place_kind="restaurant",
            ill_count=3,
            death_count=1,
            level="III",
            reported_at=datetime(2026, 3, 2, 3, tzinfo=UTC),
            description="聚餐后一人死亡",
        ),
        county_id=COUNTY,
        township_id=township_id,
        actor=actor,
    )


def state(registry: Registry, business_id: str) -> tuple[str, bool]:
    business = registry.as_("county", "GET", f"/businesses/{business_id}").json()
    return business["status"], business["under_investigation"]


def apply(registry: Registry, envelope: Envelope) -> None:
    assert registry.runtime.processor.process([envelope]).outcomes[str(envelope.event_id)] == "applied"


def test_a_coordinators_incident_leaves_another_villages_business_alone(registry: Registry):
    xiacun = registry.register(name="下村饭店", village_id=XIACUN)
    apply(
        registry,
        death_reported(xiacun["id"], actor="village:li-ming", township_id=DONGSHAN, village_id=SHANGCUN),
    )
    assert state(registry, xiacun["id"]) == ("active", False)
    assert registry.events("business.status_changed") == []

    shangcun = registry.register(name="上村饭店", village_id=SHANGCUN)
    apply(
        registry,
        death_reported(shangcun["id"], actor="village:li-ming", township_id=DONGSHAN, village_id=SHANGCUN),
    )
    assert state(registry, shangcun["id"]) == ("suspended", True)


def test_an_incident_of_another_township_leaves_the_business_alone(registry: Registry):
    dongshan = registry.register(name="东山饭店", village_id=XIACUN)
    apply(
        registry,
        death_reported(dongshan["id"], actor="township:xs-office", township_id=XISHUI, village_id=None),
    )
    assert state(registry, dongshan["id"]) == ("active", False)

    apply(
        registry,
        death_reported(dongshan["id"], actor="township:ds-office", township_id=DONGSHAN, village_id=None),
    )
    assert state(registry, dongshan["id"]) == ("suspended", True)
