"""Rectification orders: verification by re-inspection, and durable deadlines (overdue once,
escalated once), including a deadline that passes while the service is stopped."""

from __future__ import annotations

from datetime import timedelta

from services.inspection.checklists import templates
from services.inspection.inspections.verdict import ItemResult
from services.inspection.rectification.service import FailedOrPassed, findings
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.county import START, place_events
from tests.support.inspection import Inspection, results, running
from tests.support.waiting import wait_for


def test_an_inspection_finds_each_applicable_item_in_the_words_of_its_checklist():
    template = templates.template_for("catering", on=START.date())
    assert template is not None
    key = next(item for item in template.items if item.key)
    general, skipped = [item for item in template.items if not item.key][:2]
    found = findings(
        template,
        [
            ItemResult(code=key.code, key=True, result="fail"),
            ItemResult(code=general.code, key=False, result="pass"),
            ItemResult(code=skipped.code, key=False, result="not_applicable"),
        ],
    )
    assert found == [
        FailedOrPassed(code=key.code, text=key.text, severity="key", passed=False),
        FailedOrPassed(code=general.code, text=general.text, severity="general", passed=True),
    ]


def test_a_reinspection_that_finds_the_item_put_right_verifies_the_order(inspection: Inspection):
    business = inspection.business()
    inspection.inspected(business, items=results(fail=("3.1", "4.1")))
    inspection.advance(5)
    again = inspection.inspected(business, kind="reinspection", items=results(fail=("4.1",)))
    [verified] = inspection.events("rectification.verified")
    assert verified["payload"]["item_code"] == "3.1"
    assert verified["payload"]["inspection_id"] == again["id"]
    assert verified["payload"]["on_time"] is True
    assert len(inspection.events("rectification.ordered")) == 2  # 4.1 failing again keeps its order
    open_orders = inspection.as_("dongshan", "GET", "/rectifications", params={"status": "open"}).json()
    assert [order["item_code"] for order in open_orders["items"]] == ["4.1"]
    assert open_orders["items"][0]["deadline"] == (START.date() + timedelta(days=7)).isoformat()


def test_a_missed_deadline_is_reported_once_then_escalated_once(inspection: Inspection):
    business = inspection.business()
    inspection.inspected(business, items=results(fail=("3.2",)))  # general item: 15 days
    deadline = START.date() + timedelta(days=15)

    inspection.advance(15)
    assert inspection.check_deadlines().rectification.overdue == 0  # the deadline day itself is in time
    inspection.advance(1)
    assert inspection.check_deadlines().rectification.overdue == 1
    assert inspection.check_deadlines().rectification.overdue == 0
    inspection.advance(3)
    inspection.check_deadlines()
    [overdue] = inspection.events("rectification.overdue")
    assert overdue["payload"]["deadline"] == deadline.isoformat()
    assert overdue["payload"]["severity"] == "general"
    assert not inspection.events("rectification.escalated")

    inspection.advance(12)  # deadline + 16 days: past the second threshold (15 days)
    inspection.check_deadlines()
    inspection.advance(30)
    inspection.check_deadlines()
    [escalated] = inspection.events("rectification.escalated")
    assert (escalated["payload"]["previous_severity"], escalated["payload"]["severity"]) == ("general", "key")
    order = inspection.as_("dongshan", "GET", "/rectifications").json()["items"][0]
    assert (order["severity"], order["overdue"], order["escalated"]) == ("key", True, True)
    assert len(inspection.events("rectification.overdue")) == 1


def test_a_verified_order_is_never_reported_overdue(inspection: Inspection):
    business = inspection.business()
    inspection.inspected(business, items=results(fail=("2.1",)))
    inspection.advance(3)
    inspection.inspected(business, kind="reinspection")
    inspection.advance(40)
    report = inspection.check_deadlines()
    assert (report.rectification.overdue, report.rectification.escalated) == (0, 0)


def test_a_deadline_that_passes_while_the_service_is_stopped_is_reported_once_after_it_starts(
    settings: Settings, clock: ManualClock
):
    with running(settings, clock) as first:
        for event in place_events():
            first.feed(event, township_id=None)
        business = first.business()
        first.inspected(business, items=results(fail=("2.1",)))  # key item: deadline in 7 days
        assert not first.events("rectification.overdue")

    clock.advance(timedelta(days=10))  # the deadline passes while nothing runs

    with running(settings, clock) as second:
        wait_for(lambda: second.events("rectification.overdue"), what="the overdue notice after the start")
        [overdue] = second.events("rectification.overdue")
        assert overdue["payload"]["item_code"] == "2.1"

    with running(settings, clock) as third:  # a further restart repeats nothing
        assert third.check_deadlines().rectification.overdue == 0
        assert len(third.events("rectification.overdue")) == 1


def test_orders_are_scoped_to_the_township(inspection: Inspection):
    business = inspection.business()
    inspection.inspected(business, items=results(fail=("2.1",)))
    order = inspection.as_("dongshan", "GET", "/rectifications").json()["items"][0]
    assert inspection.as_("xishui", "GET", f"/rectifications/{order['id']}").status_code == 404
    assert inspection.as_("xishui", "GET", "/rectifications").json()["total"] == 0
    assert inspection.as_("shangcun", "GET", "/rectifications").status_code == 403
    assert inspection.client.get("/rectifications").status_code == 401
