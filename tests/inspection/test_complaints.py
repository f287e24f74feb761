"""Complaints and reports from the public: deadlines in working days, every step announced, the
missed deadline announced once."""

from __future__ import annotations

from datetime import datetime

import pytest

from shared.clock import LOCAL_ZONE
from tests.support.county import DONGSHAN, XISHUI
from tests.support.inspection import WRITES, Inspection


def complain(inspection: Inspection, who: str = "dongshan", **fields) -> dict:
    body = {"channel": "phone", "content": "饭店后厨卫生差，吃后腹痛", **fields}
    response = inspection.as_(who, "POST", "/complaints", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_deadlines_are_counted_in_working_days_across_national_day(inspection: Inspection):
    inspection.clock.set(datetime(2025, 9, 29, 10, 0, tzinfo=LOCAL_ZONE))  # Monday before the holiday
    complaint = complain(inspection)
    assert (complaint["accept_due"], complaint["verify_due"]) == ("2025-10-15", "2025-10-27")
    [received] = inspection.events("complaint.received")
    assert received["payload"]["accept_due"] == "2025-10-15"
    assert received["township_id"] == DONGSHAN


def test_a_complaint_goes_from_intake_to_closure_and_each_step_is_announced(inspection: Inspection):
    business = inspection.business("好味餐馆")
    complaint = complain(inspection, business_id=business, channel="web", kind="report")
    url = f"/complaints/{complaint['id']}"

    accepted = inspection.as_("dongshan", "POST", f"{url}/decision", json={"accept": True})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assigned = inspection.as_("dongshan", "POST", f"{url}/assignment", json={"assignee": "ds-inspector"})
    assert assigned.json()["assignee"] == "ds-inspector"
    work = inspection.as_("inspector", "GET", "/worklist").json()
    assert [item["reference_id"] for item in work["items"] if item["what"] == "complaint_followup"] == [
        complaint["id"]
    ]

    inspection.advance(2)
    followup = inspection.inspected(business, kind="complaint_followup", complaint_id=complaint["id"])
    assert inspection.as_("dongshan", "GET", url).json()["followup_inspection_id"] == followup["id"]
    closed = inspection.as_("dongshan", "POST", f"{url}/closure", json={"result": "责令整改，已复查"})
    assert closed.json()["status"] == "closed"

    steps = [event["type"] for event in inspection.events() if event["type"].startswith("complaint.")]
    assert steps == [
        "complaint.received",
        "complaint.accepted",
        "complaint.assigned",
        "complaint.followed_up",
        "complaint.closed",
    ]
    assert inspection.events("complaint.closed")[0]["payload"]["in_time"] is True
    assert inspection.as_("dongshan", "POST", f"{url}/closure", json={"result": "again"}).status_code == 422


def test_a_missed_acceptance_deadline_is_announced_once(inspection: Inspection):
    complaint = complain(inspection)  # Monday 2 March 2026: 7 working days -> Wednesday 11 March
    assert complaint["accept_due"] == "2026-03-11"
    inspection.advance(9)  # Wednesday 11 March: still in time
    assert inspection.check_deadlines().complaints.accept == 0
    inspection.advance(1)
    assert inspection.check_deadlines().complaints.accept == 1
    inspection.advance(1)
    assert inspection.check_deadlines().complaints.accept == 0
    [missed] = inspection.events("complaint.deadline_missed")
    assert (missed["payload"]["deadline_kind"], missed["payload"]["due_on"]) == ("accept", "2026-03-11")

    late = inspection.as_(
        "dongshan", "POST", f"/complaints/{complaint['id']}/decision", json={"accept": True}
    )
    assert inspection.events("complaint.accepted")[0]["payload"]["on_time"] is False
    assert late.json()["accept_missed"] is True


def test_an_accepted_complaint_never_followed_up_misses_its_verification_deadline_once(
    inspection: Inspection,
):
    complaint = complain(inspection)
    inspection.as_("dongshan", "POST", f"/complaints/{complaint['id']}/decision", json={"accept": True})
    inspection.advance(30)
    inspection.check_deadlines()
    inspection.check_deadlines()
    missed = inspection.events("complaint.deadline_missed")
    assert [event["payload"]["deadline_kind"] for event in missed] == ["verify"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "fax", "content": "x"}, "channel"),
        ({"channel": "phone", "content": ""}, "content"),
        ({"channel": "phone", "content": "x", "township_id": "qingyun.atlantis"}, "township_id"),
        ({"channel": "phone", "content": "x", "township_id": XISHUI}, "township_id"),  # not the caller's
        (
            {"channel": "phone", "content": "x", "business_id": "5b0e6b1e-6a4f-4f8e-9a53-9f1d8d0f0a11"},
            "business_id",
        ),
        ({"channel": "phone", "content": "x", "received_at": "2026-03-03T09:00:00+08:00"}, "received_at"),
    ],
)
def test_bad_complaints_are_a_422_and_write_nothing(inspection: Inspection, body: dict, field: str):
    before = inspection.counts(*WRITES)
    response = inspection.as_("dongshan", "POST", "/complaints", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field
    assert inspection.counts(*WRITES) == before


def test_refusing_needs_a_reason_and_only_offices_decide(inspection: Inspection):
    complaint = complain(inspection)
    url = f"/complaints/{complaint['id']}/decision"
    assert inspection.as_("inspector", "POST", url, json={"accept": False, "reason": "x"}).status_code == 403
    before = inspection.counts(*WRITES)
    response = inspection.as_("dongshan", "POST", url, json={"accept": False})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "reason"
    assert inspection.counts(*WRITES) == before
    refused = inspection.as_("dongshan", "POST", url, json={"accept": False, "reason": "不属于食品安全范围"})
    assert refused.json()["status"] == "refused"
    assert inspection.events("complaint.accepted")[0]["payload"]["accepted"] is False


def test_complaints_are_scoped_to_their_township(inspection: Inspection):
    complaint = complain(inspection)
    assert inspection.as_("xishui", "GET", f"/complaints/{complaint['id']}").status_code == 404
    assert (
        inspection.as_(
            "xishui", "POST", f"/complaints/{complaint['id']}/decision", json={"accept": True}
        ).status_code
        == 404
    )
    assert inspection.as_("county", "GET", f"/complaints/{complaint['id']}").status_code == 200
    assert inspection.as_("shangcun", "GET", "/complaints").status_code == 403
    assert inspection.client.get("/complaints").status_code == 401
    county_filed = complain(inspection, "county", township_id=XISHUI, channel="walk_in")
    assert county_filed["township_id"] == XISHUI
    assert inspection.as_("xishui", "GET", "/complaints").json()["total"] == 1


def test_a_followup_must_concern_an_accepted_complaint(inspection: Inspection):
    business = inspection.business()
    complaint = complain(inspection, business_id=business)
    before = inspection.counts(*WRITES)
    response = inspection.inspect(business, kind="complaint_followup", complaint_id=complaint["id"])
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "complaint_id"
    assert inspection.counts(*WRITES) == before
