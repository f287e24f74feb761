"""The registry reacting to inspection and alerts events: grade history, risk level, investigation."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from shared.bus import OutgoingEvent
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.inspection import InspectionCompleted
from shared.events import Envelope
from tests.support.county import COUNTY, DONGSHAN
from tests.support.registry import Registry
from tests.support.waiting import wait_for


def inspection(
    business_id: str, *, grade: str | None, outcome: str = "compliant", action: str = "pass", day: int = 1
) -> Envelope:
    return Envelope.wrap(
        InspectionCompleted(
            inspection_id=uuid.uuid4(),
            business_id=uuid.UUID(business_id),
            kind="routine",
            inspected_on=date(2026, 2, day),
            outcome=outcome,  # type: ignore[arg-type]
            action=action,  # type: ignore[arg-type]
            score={"excellent": 95, "good": 80, "fair": 65}.get(grade or "", 50),
            dynamic_grade=grade,  # type: ignore[arg-type]
            inspector="ds-inspector",
        ),
        county_id=COUNTY,
        township_id=DONGSHAN,
        actor="inspector:ds-inspector",
    )


def incident(business_id: str | None, level: str, county_id: str = COUNTY) -> Envelope:
    return Envelope.wrap(
        IncidentReported(
            incident_id=uuid.uuid4(),
            business_id=uuid.UUID(business_id) if business_id else None,
            place_kind="restaurant",
            ill_count={"III": 120, "IV": 40}.get(level, 5),
            death_count=0,
            level=level,  # type: ignore[arg-type]
            reported_at=datetime(2026, 3, 2, 3, tzinfo=UTC),
            description="聚餐后腹泻",
        ),
        county_id=county_id,
        township_id=DONGSHAN,
        actor="township:ds-office",
    )


def apply(registry: Registry, *envelopes: Envelope) -> dict[str, str]:
    return registry.runtime.processor.process(list(envelopes)).outcomes


def business(registry: Registry, business_id: str) -> dict:
    return registry.as_("county", "GET", f"/businesses/{business_id}").json()


def test_each_grade_enters_the_history_once_and_a_fair_grade_raises_the_risk(registry: Registry):
    shop = registry.register(name="东山饭店")
    good, fair = inspection(shop["id"], grade="good", day=1), inspection(shop["id"], grade="fair", day=3)
    assert set(apply(registry, good, fair).values()) == {"applied"}
    assert apply(registry, fair)[str(fair.event_id)] == "duplicate"

    history = registry.as_("dongshan", "GET", f"/businesses/{shop['id']}/grades").json()
    assert [item["dynamic_grade"] for item in history] == ["fair", "good"]  # newest first
    assert business(registry, shop["id"])["risk_level"] == "C"
    changes = registry.events("business.risk_changed")
    assert [(e["payload"]["previous_risk_level"], e["payload"]["risk_level"]) for e in changes] == [
        ("B", "C")
    ]
    assert changes[0]["correlation_id"] == str(fair.event_id)
    assert len(registry.events("business.graded")) == 2


def test_a_stop_order_raises_and_three_excellent_grades_in_a_row_lower(registry: Registry):
    shop = registry.register(name="东山饭店")
    apply(
        registry, inspection(shop["id"], grade=None, outcome="non_compliant", action="stop_operating", day=1)
    )
    assert business(registry, shop["id"])["risk_level"] == "C"
    for day in (2, 3):
        apply(registry, inspection(shop["id"], grade="excellent", day=day))
    assert business(registry, shop["id"])["risk_level"] == "C"  # two are not enough
    apply(registry, inspection(shop["id"], grade="excellent", day=4))
    assert business(registry, shop["id"])["risk_level"] == "B"


def test_a_school_canteen_never_drops_below_d(registry: Registry):
    canteen = registry.register(name="东山小学食堂", kind="school_canteen")
    for day in (1, 2, 3, 4):
        apply(registry, inspection(canteen["id"], grade="excellent", day=day))
    assert business(registry, canteen["id"])["risk_level"] == "D"
    assert registry.events("business.risk_changed") == []


def test_events_about_unknown_or_foreign_businesses_change_nothing(registry: Registry):
    shop = registry.register(name="东山饭店")
    before = registry.counts("grade_history", "outbox", "audit_log")
    outcomes = apply(
        registry,
        inspection(str(uuid.uuid4()), grade="fair"),
        incident(shop["id"], "III", county_id="another-county"),
        incident(None, "III"),
    )
    assert set(outcomes.values()) == {"applied"}
    assert registry.counts("grade_history", "outbox", "audit_log") == before
    assert business(registry, shop["id"])["status"] == "active"


def test_a_level_iii_incident_suspends_pending_the_townships_decision(registry: Registry):
    shop = registry.register(name="东山饭店")
    apply(registry, incident(shop["id"], "III"))
    flagged = business(registry, shop["id"])
    assert (flagged["status"], flagged["under_investigation"]) == ("suspended", True)
    status_event = registry.events("business.status_changed")[-1]["payload"]
    assert (status_event["previous_status"], status_event["status"]) == ("active", "suspended")
    assert registry.events("business.updated")[-1]["payload"]["under_investigation"] is True

    path = f"/businesses/{shop['id']}"
    ordinary = registry.as_("dongshan", "POST", f"{path}/status", json={"status": "active", "reason": "x"})
    assert ordinary.status_code == 422  # the decision endpoint is the way out
    assert (
        registry.as_(
            "inspector", "POST", f"{path}/decision", json={"decision": "reactivate", "reason": "x"}
        ).status_code
        == 403
    )
    assert (
        registry.as_(
            "dongshan", "POST", f"{path}/decision", json={"decision": "wait", "reason": "x"}
        ).status_code
        == 422
    )

    decided = registry.as_(
        "dongshan", "POST", f"{path}/decision", json={"decision": "reactivate", "reason": "整改到位"}
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["under_investigation"]) == ("active", False)
    assert registry.events("business.status_changed")[-1]["payload"]["status"] == "active"
    again = registry.as_("dongshan", "POST", f"{path}/decision", json={"decision": "close", "reason": "x"})
    assert again.status_code == 422  # no longer under investigation


def test_a_level_iv_incident_only_flags_and_the_township_may_close(registry: Registry):
    shop = registry.register(name="东山饭店")
    apply(registry, incident(shop["id"], "IV"))
    apply(registry, incident(shop["id"], "below_IV"))
    flagged = business(registry, shop["id"])
    assert (flagged["status"], flagged["under_investigation"]) == ("active", True)
    assert registry.events("business.status_changed") == []
    assert len([e for e in registry.events("business.updated") if e["payload"]["under_investigation"]]) == 1

    closed = registry.as_(
        "county", "POST", f"/businesses/{shop['id']}/decision", json={"decision": "close", "reason": "吊销"}
    )
    assert closed.json()["status"] == "closed"


def test_inspection_results_arrive_over_the_bus(registry: Registry):
    """SPEC.consumes wires the inspection stream: an event published there reaches the history."""
    shop = registry.register(name="东山饭店")
    envelope = inspection(shop["id"], grade="good")
    event = OutgoingEvent(
        stream=registry.settings.stream("inspection"),
        body=envelope.to_bytes(),
        event_id=str(envelope.event_id),
        event_type=envelope.type,
    )
    registry.client.portal.call(registry.runtime.bus.publish_many, [event])  # type: ignore[union-attr]
    grades = wait_for(
        lambda: registry.as_("dongshan", "GET", f"/businesses/{shop['id']}/grades").json(),
        what="the grade to reach the registry",
    )
    assert [item["dynamic_grade"] for item in grades] == ["good"]
