"""Alerts raised from other services' events: one per subject (repeats counted), grouped by what
they are about, and suppressed while an incident explains them, never the incident itself."""

from __future__ import annotations

import uuid
from datetime import date

from shared.catalogue.inspection import ComplaintDeadlineMissed, InspectionCompleted, RectificationOverdue
from shared.catalogue.registry import BanquetLate, CertificateExpired, LicenceExpired
from tests.support.alerts import Alerts
from tests.support.county import DONGSHAN, SHANGCUN, XISHUI


def stop_operating(business: str, action: str = "stop_operating") -> InspectionCompleted:
    return InspectionCompleted(
        inspection_id=uuid.uuid4(),
        business_id=uuid.UUID(business),
        kind="routine",
        inspected_on=date(2026, 3, 2),
        outcome="non_compliant",
        action=action,
        score=41.0,
        inspector="inspector:ds-inspector",  # type: ignore[arg-type]
    )


def licence_expired(business: str) -> LicenceExpired:
    return LicenceExpired(
        business_id=uuid.UUID(business), licence_kind="food_permit", number="JY1", expires_on=date(2026, 3, 1)
    )


def test_each_kind_of_event_raises_its_alert(alerts: Alerts):
    business = alerts.business()
    alerts.feed(stop_operating(business), actor="inspector:ds-inspector")
    alerts.feed(stop_operating(business, action="written_rectification"))  # not an alert
    alerts.feed(
        RectificationOverdue(
            order_id=uuid.uuid4(),
            business_id=uuid.UUID(business),
            inspection_id=uuid.uuid4(),
            item_code="3.1",
            deadline=date(2026, 2, 20),
            severity="key",
        )
    )
    alerts.feed(
        CertificateExpired(
            certificate_id=uuid.uuid4(),
            business_id=uuid.UUID(business),
            staff_name="王五",
            expires_on=date(2026, 3, 1),
        )
    )
    alerts.feed(licence_expired(business))
    alerts.feed(
        BanquetLate(
            banquet_id=uuid.uuid4(),
            village_id=SHANGCUN,
            host="张三",
            held_on=date(2026, 3, 3),
            filed_on=date(2026, 3, 2),
            people=120,
        )
    )
    alerts.feed(
        ComplaintDeadlineMissed(complaint_id=uuid.uuid4(), deadline_kind="accept", due_on=date(2026, 3, 1))
    )
    listed = alerts.as_("dongshan", "GET", "/alerts").json()["items"]
    assert sorted(a["kind"] for a in listed) == sorted(
        [
            "stop_operating",
            "rectification_overdue",
            "certificate_expired",
            "licence_expired",
            "banquet_late",
            "complaint_deadline_missed",
        ]
    )
    assert len(alerts.events("alert.raised")) == 6
    groups = alerts.as_("dongshan", "GET", "/alerts/groups").json()
    assert groups[0]["group_key"] == f"business:{business}" and groups[0]["alerts"] == 4
    assert alerts.as_("xishui", "GET", "/alerts").json()["items"] == []
    banquet = next(a for a in listed if a["kind"] == "banquet_late")
    assert [a["id"] for a in alerts.as_("shangcun", "GET", "/alerts").json()["items"]] == [banquet["id"]]
    alerts.deliver()
    assert alerts.counts(("notifications",))["notifications"] == 7  # banquet: township and village


def test_the_same_alert_twice_is_one_alert_counted_twice(alerts: Alerts):
    business = alerts.business()
    alerts.feed(licence_expired(business))
    alerts.feed(licence_expired(business))  # another event id, the same licence
    (alert,) = alerts.as_("dongshan", "GET", "/alerts").json()["items"]
    assert alert["occurrences"] == 2
    assert len(alerts.events("alert.raised")) == 1
    assert alerts.counts(("notifications",))["notifications"] == 1


def test_an_incident_suppresses_the_alerts_it_explains_and_never_itself(alerts: Alerts):
    business = alerts.business()
    unrelated = alerts.business("别家", township_id=DONGSHAN)
    alerts.feed(stop_operating(business))
    alerts.feed(licence_expired(unrelated))
    incident = alerts.report("dongshan", business_id=business, village_id=None)
    alerts.feed(
        CertificateExpired(
            certificate_id=uuid.uuid4(),
            business_id=uuid.UUID(business),
            staff_name="王五",
            expires_on=date(2026, 3, 1),
        )
    )
    by_kind = {a["kind"]: a for a in alerts.as_("dongshan", "GET", "/alerts").json()["items"]}
    assert by_kind["stop_operating"]["status"] == "suppressed"
    assert by_kind["stop_operating"]["suppressed_by_incident"] == incident["id"]
    assert by_kind["certificate_expired"]["status"] == "suppressed"
    assert by_kind["licence_expired"]["status"] == "open"
    (raised,) = [e for e in alerts.events("alert.raised") if e["payload"]["kind"] == "certificate_expired"]
    assert raised["payload"]["suppressed_by_incident"] == incident["id"]
    # the incident itself is escalated as ever
    alerts.advance(hours=2)
    assert alerts.tick().fired == {"deadline": 1}
    assert alerts.as_("dongshan", "GET", f"/incidents/{incident['id']}").json()["status"] == "reported"
    # closed, it explains nothing any more
    alerts.as_("dongshan", "POST", f"/incidents/{incident['id']}/close", json={"cause": "员工带病上岗"})
    statuses = {a["kind"]: a["status"] for a in alerts.as_("dongshan", "GET", "/alerts").json()["items"]}
    assert statuses == {"stop_operating": "open", "certificate_expired": "open", "licence_expired": "open"}


def test_a_township_resolves_its_alert(alerts: Alerts):
    business = alerts.business()
    alerts.feed(licence_expired(business))
    (alert,) = alerts.as_("dongshan", "GET", "/alerts").json()["items"]
    path = f"/alerts/{alert['id']}/resolve"
    assert alerts.client.post(path, json={}).status_code == 401
    assert alerts.as_("xishui", "POST", path, json={}).status_code == 404
    assert alerts.as_("inspector", "POST", path, json={}).status_code == 403
    resolved = alerts.as_("dongshan", "POST", path, json={"note": "已换证"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert alerts.as_("dongshan", "POST", path, json={}).status_code == 409
    (event,) = alerts.events("alert.resolved")
    assert event["payload"]["note"] == "已换证"
    alerts.feed(licence_expired(business))  # after resolving, it is news again
    assert len(alerts.as_("dongshan", "GET", "/alerts?status=open").json()["items"]) == 1


def test_an_alert_without_a_township_in_the_envelope_is_placed_by_the_business(alerts: Alerts):
    business = alerts.business(township_id=XISHUI)
    alerts.feed(licence_expired(business), township_id=None)
    assert len(alerts.as_("xishui", "GET", "/alerts").json()["items"]) == 1
