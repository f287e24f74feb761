"""Yearly plans from risk levels, worklists of what is due and overdue, grading coverage."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.clock import LOCAL_ZONE
from tests.support.county import DONGSHAN, XISHUI
from tests.support.inspection import Inspection, results


def test_the_plan_gives_each_business_its_inspections_due_by_risk_level(inspection: Inspection):
    grocery = inspection.business("小卖部", kind="grocery", risk_level="A")
    canteen = inspection.business("中心小学食堂", kind="school_canteen", risk_level="D")
    inspection.business("西水饭店", township_id=XISHUI, village_id=None)
    inspection.inspected(canteen, kind="school")

    plan = inspection.as_("dongshan", "GET", "/plans").json()
    lines = {line["name"]: line for line in plan["lines"]}
    assert set(lines) == {"小卖部", "中心小学食堂"}
    assert (lines["小卖部"]["due_this_year"], lines["小卖部"]["state"]) == (1, "due")
    assert (lines["中心小学食堂"]["due_this_year"], lines["中心小学食堂"]["done_this_year"]) == (4, 1)
    assert lines["中心小学食堂"]["state"] == "planned"  # the first quarter's visit is done
    assert (plan["due_total"], plan["done_total"]) == (5, 1)
    assert grocery in {line["business_id"] for line in plan["lines"]}


def test_a_high_risk_business_not_visited_in_its_quarter_is_overdue_on_the_worklist(inspection: Inspection):
    inspection.business("中心厨房", kind="central_kitchen", risk_level="D")
    inspection.clock.set(datetime(2026, 4, 2, 9, 0, tzinfo=LOCAL_ZONE))
    work = inspection.as_("inspector", "GET", "/worklist").json()
    planned = [item for item in work["items"] if item["what"] == "planned_inspection"]
    assert [(item["business_name"], item["state"], item["due_by"]) for item in planned] == [
        ("中心厨房", "overdue", "2026-04-01")
    ]
    assert work["inspector"] == "ds-inspector"


def test_a_rectification_deadline_near_or_past_puts_a_reinspection_on_the_worklist(inspection: Inspection):
    business = inspection.business()
    inspection.inspected(business, items=results(fail=("2.1",)))  # key: due in 7 days
    reinspections = lambda: [  # noqa: E731
        item
        for item in inspection.as_("inspector", "GET", "/worklist").json()["items"]
        if item["what"] == "reinspection"
    ]
    assert reinspections() == []
    inspection.advance(5)
    assert [item["state"] for item in reinspections()] == ["due"]
    inspection.advance(3)
    assert [item["state"] for item in reinspections()] == ["overdue"]


def test_coverage_counts_businesses_graded_in_the_last_twelve_months(inspection: Inspection):
    graded = inspection.business("已评级")
    inspection.business("未检查")
    withheld = inspection.business("新证")
    old = inspection.business("去年检查")
    inspection.business("西水饭店", township_id=XISHUI, village_id=None)
    inspection.licence(withheld, issued_on=inspection.today - timedelta(days=10))

    inspection.clock.set(datetime(2025, 2, 1, 9, 0, tzinfo=LOCAL_ZONE))
    inspection.inspected(old)  # 13 months before the day of the report
    inspection.clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=LOCAL_ZONE))
    inspection.inspected(graded)
    inspection.inspected(withheld)  # inside the new-licence blackout: no grade

    coverage = inspection.as_("county", "GET", "/coverage").json()
    rows = {row["township_id"]: row for row in coverage["townships"]}
    assert (rows[DONGSHAN]["registered"], rows[DONGSHAN]["graded"], rows[DONGSHAN]["ratio"]) == (4, 1, 0.25)
    assert (rows[XISHUI]["graded"], rows[XISHUI]["ratio"]) == (0, 0.0)
    own = inspection.as_("dongshan", "GET", "/coverage").json()
    assert [row["township_id"] for row in own["townships"]] == [DONGSHAN]


def test_plans_and_worklists_are_scoped(inspection: Inspection):
    assert inspection.as_("dongshan", "GET", "/plans", params={"township_id": XISHUI}).status_code == 404
    assert inspection.as_("county", "GET", "/plans", params={"township_id": XISHUI}).status_code == 200
    assert inspection.as_("county", "GET", "/plans").status_code == 422  # the county names the township
    assert (
        inspection.as_("county", "GET", "/plans", params={"township_id": "qingyun.atlantis"}).status_code
        == 404
    )
    assert inspection.as_("shangcun", "GET", "/worklist").status_code == 403
    assert inspection.as_("ops", "GET", "/coverage").status_code == 403
    assert inspection.client.get("/worklist").status_code == 401
