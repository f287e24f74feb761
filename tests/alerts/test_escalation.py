"""Escalation with a controllable clock: deadlines fire exactly once, acknowledgement stops them,
a raised level reaches the county at once, and the chain follows the policy in force."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from tests.support.alerts import Alerts
from tests.support.county import COUNTY, DONGSHAN, HECUN, SHANGCUN, START, XISHUI


def tiers(escalations: list[dict]) -> list[tuple[str, str]]:
    return [(e["tier"], e["reason"]) for e in escalations]


def test_an_unacknowledged_level_iv_reaches_the_county_exactly_at_the_deadline_once(alerts: Alerts):
    incident = alerts.report()
    assert incident["level"] == "IV"
    assert tiers(alerts.escalations(incident["id"])) == [("village", "reported"), ("township", "at_once")]
    deadline = START + timedelta(hours=2)
    assert datetime.fromisoformat(alerts.escalations(incident["id"])[-1]["deadline_at"]) == deadline

    alerts.clock.set(deadline - timedelta(microseconds=1))
    assert alerts.tick().total == 0
    assert len(alerts.escalations(incident["id"])) == 2

    alerts.clock.set(deadline)
    assert alerts.tick().fired == {"deadline": 1}
    county = alerts.escalations(incident["id"])[2:]
    assert tiers(county) == [("county", "deadline")]
    assert county[0]["targets"] == [f"role:county_office@{COUNTY}"]
    assert county[0]["seconds_since_onset"] == 5 * 3600  # onset three hours before the report

    assert alerts.tick().total == 0  # the same instant again: nothing more
    alerts.advance(minutes=30)
    assert alerts.tick().total == 0
    assert len(alerts.escalations(incident["id"])) == 3


def test_acknowledging_stops_the_escalation(alerts: Alerts):
    incident = alerts.report()
    alerts.advance(minutes=40)
    acknowledged = alerts.as_(
        "dongshan", "POST", f"/incidents/{incident['id']}/acknowledge", json={"note": "在路上"}
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
    (event,) = alerts.events("alert.acknowledged", incident["id"])
    assert event["payload"]["seconds_since_report"] == 40 * 60
    assert event["payload"]["acknowledged_by"] == "township:ds-office"

    alerts.clock.set(START + timedelta(hours=2))
    assert alerts.tick().total == 0
    progressed = alerts.as_(
        "dongshan", "POST", f"/incidents/{incident['id']}/progress", json={"status": "responding"}
    )
    assert progressed.status_code == 200
    alerts.advance(hours=10)
    assert alerts.tick().total == 0
    assert [e["tier"] for e in alerts.escalations(incident["id"])] == ["village", "township"]
    again = alerts.as_("dongshan", "POST", f"/incidents/{incident['id']}/acknowledge", json={})
    assert again.status_code == 409


def test_an_acknowledgement_without_progress_lapses_and_notifies_again(alerts: Alerts):
    incident = alerts.report()
    alerts.advance(minutes=10)
    alerts.as_("dongshan", "POST", f"/incidents/{incident['id']}/acknowledge", json={})
    lapse = START + timedelta(minutes=10 + 120)  # the level IV progress window
    alerts.clock.set(lapse - timedelta(seconds=1))
    assert alerts.tick().total == 0
    alerts.clock.set(lapse)
    assert alerts.tick().fired == {"lapsed": 1}
    current = alerts.as_("dongshan", "GET", f"/incidents/{incident['id']}").json()
    assert current["status"] == "reported" and current["awaiting_ack"] is True
    assert tiers(alerts.escalations(incident["id"]))[-1] == ("township", "acknowledgement_lapsed")
    # unacknowledged again, the chain goes on to the county at the next deadline
    alerts.clock.set(lapse + timedelta(hours=2))
    assert alerts.tick().fired == {"deadline": 1}
    assert tiers(alerts.escalations(incident["id"]))[-1] == ("county", "deadline")


def test_a_count_update_that_raises_the_level_to_ii_notifies_the_county_at_once(alerts: Alerts):
    incident = alerts.report()
    alerts.advance(minutes=20)
    alerts.as_("dongshan", "POST", f"/incidents/{incident['id']}/acknowledge", json={})
    alerts.advance(minutes=5)
    updated = alerts.as_(
        "dongshan", "PATCH", f"/incidents/{incident['id']}/counts", json={"ill_count": 120, "death_count": 1}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["level"] == "II"
    assert updated.json()["awaiting_ack"] is True and updated.json()["status"] == "reported"
    assert tiers(alerts.escalations(incident["id"]))[-1] == ("county", "level_raised")
    (changed,) = alerts.events("incident.level_changed", incident["id"])
    assert changed["payload"]["previous_level"] == "IV" and changed["payload"]["level"] == "II"
    # the county acknowledges within the level II deadline (1 h) or hears of it again
    alerts.advance(minutes=59)
    assert alerts.tick().total == 0
    alerts.advance(minutes=1)
    assert alerts.tick().fired == {"reminder": 1}
    assert tiers(alerts.escalations(incident["id"]))[-1] == ("county", "reminder")


def test_a_level_ii_report_notifies_every_tier_up_to_the_county_at_once(alerts: Alerts):
    incident = alerts.report("dongshan", village_id=None, ill_count=50, place_kind="school")
    assert incident["level"] == "II"
    escalations = alerts.escalations(incident["id"])
    assert tiers(escalations) == [("township", "reported"), ("county", "at_once")]
    assert escalations[-1]["deadline_at"] is not None
    deadline = datetime.fromisoformat(escalations[-1]["deadline_at"])
    assert deadline == START + timedelta(hours=1)


def test_below_iv_stays_with_the_township(alerts: Alerts):
    incident = alerts.report(ill_count=5)
    assert incident["level"] == "below_IV"
    alerts.advance(hours=2)
    assert alerts.tick().fired == {"reminder": 1}
    for _ in range(5):
        alerts.advance(hours=2)
        alerts.tick()
    seen = tiers(alerts.escalations(incident["id"]))
    assert ("county", "deadline") not in [(t, r) for t, r in seen]
    assert seen.count(("township", "reminder")) == 3  # reminders_at_top in the rule table


def test_a_level_raised_below_iv_incident_can_then_reach_the_county(alerts: Alerts):
    incident = alerts.report(ill_count=5)
    alerts.advance(minutes=30)
    alerts.as_("dongshan", "PATCH", f"/incidents/{incident['id']}/counts", json={"ill_count": 40})
    alerts.advance(hours=2)
    assert alerts.tick().fired == {"deadline": 1}
    assert tiers(alerts.escalations(incident["id"]))[-1] == ("county", "deadline")


def township_policy(**township_step: object) -> dict:
    return {
        "steps": [
            {
                "name": "东山镇食安办 (工作时间)",
                "tier": "township",
                "targets": [{"ref": "person:ds-office"}],
                "when": {"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "18:00"},
                **township_step,
            },
            {
                "name": "东山镇值班",
                "tier": "township",
                "targets": [
                    {"ref": "phone:+8613800000001", "when": {"days": [6]}},
                    {"ref": "phone:+8613800000002", "when": {"days": [7]}},
                    {
                        "ref": "phone:+8613800000003",
                        "when": {"days": [1, 2, 3, 4, 5], "start": "18:00", "end": "08:00"},
                    },
                ],
                "when": {"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "18:00", "outside": True},
            },
            {"name": "县食安办", "tier": "county", "targets": [{"ref": "role:county_office"}], "repeat": 1},
        ]
    }


def test_working_hours_and_the_duty_rota_pick_who_is_told(alerts: Alerts):
    saved = alerts.as_("county", "PUT", f"/escalation/policies/{DONGSHAN}", json=township_policy())
    assert saved.status_code == 200, saved.text
    weekday = alerts.report("dongshan", village_id=None)
    assert [e["targets"] for e in alerts.escalations(weekday["id"])] == [["person:ds-office"]]

    alerts.clock.set(START + timedelta(days=5))  # Saturday 09:00
    saturday = alerts.report("dongshan", village_id=None, place_kind="restaurant")
    assert [e["targets"] for e in alerts.escalations(saturday["id"])] == [["phone:+8613800000001"]]

    alerts.clock.set(START + timedelta(days=1, hours=13))  # Tuesday 22:00
    night = alerts.report("dongshan", village_id=None, place_kind="market")
    assert [e["targets"] for e in alerts.escalations(night["id"])] == [["phone:+8613800000003"]]

    # a township without its own chain uses the county's default (here: the rule table's)
    other = alerts.report("xishui", township_id=XISHUI, village_id=HECUN)
    assert [e["tier"] for e in alerts.escalations(other["id"])] == ["village", "township"]


def test_a_step_may_repeat_before_the_chain_moves_on(alerts: Alerts):
    alerts.as_(
        "county",
        "PUT",
        f"/escalation/policies/{COUNTY}",
        json={
            "steps": [
                {
                    "name": "乡镇",
                    "tier": "township",
                    "targets": [{"ref": "role:township_office"}],
                    "repeat": 1,
                    "deadline_minutes": {"IV": 30},
                },
                {"name": "县", "tier": "county", "targets": [{"ref": "role:county_office"}]},
            ]
        },
    )
    incident = alerts.report("dongshan", village_id=None)
    alerts.advance(minutes=30)
    alerts.tick()
    alerts.advance(minutes=30)
    alerts.tick()
    assert tiers(alerts.escalations(incident["id"])) == [
        ("township", "reported"),
        ("township", "repeat"),
        ("county", "deadline"),
    ]


def test_an_incident_keeps_the_chain_it_started_with(alerts: Alerts):
    incident = alerts.report()
    alerts.as_(
        "county",
        "PUT",
        f"/escalation/policies/{DONGSHAN}",
        json={
            "steps": [{"name": "只有乡镇", "tier": "township", "targets": [{"ref": "role:township_office"}]}]
        },
    )
    alerts.advance(hours=2)
    alerts.tick()
    assert tiers(alerts.escalations(incident["id"]))[-1] == ("county", "deadline")


def test_policies_over_http_are_scoped_and_validated(alerts: Alerts):
    path = f"/escalation/policies/{DONGSHAN}"
    assert alerts.client.get(path).status_code == 401
    read = alerts.as_("dongshan", "GET", path)
    assert read.status_code == 200 and read.json()["source"] == "rule_table"
    assert [step["tier"] for step in read.json()["steps"]] == ["village", "township", "county"]
    assert alerts.as_("xishui", "GET", path).status_code == 404
    assert alerts.as_("dongshan", "GET", f"/escalation/policies/{COUNTY}").status_code == 404
    assert alerts.as_("shangcun", "GET", path).status_code == 403
    assert alerts.as_("dongshan", "PUT", path, json=township_policy()).status_code == 403
    assert (
        alerts.as_(
            "county", "PUT", "/escalation/policies/qingyun.atlantis", json=township_policy()
        ).status_code
        == 404
    )

    before = alerts.counts()
    descending = {"steps": list(reversed(township_policy()["steps"]))}
    for body, field in [
        (descending, "steps"),
        (township_policy(tier="mars"), "tier"),
        (township_policy(deadline_minutes={"IV": 0}), "deadline_minutes"),
        (township_policy(targets=[]), "targets"),
        (township_policy(when={"days": [8]}), "days"),
    ]:
        response = alerts.as_("county", "PUT", path, json=body)
        assert response.status_code == 422, response.text
        assert any(field in map(str, error["loc"]) for error in response.json()["detail"]), response.text
    assert alerts.counts() == before

    saved = alerts.as_("county", "PUT", path, json=township_policy())
    assert saved.status_code == 200 and saved.json()["version"] == 1
    assert alerts.as_("county", "PUT", path, json=township_policy()).json()["version"] == 2
    assert alerts.as_("dongshan", "GET", path).json()["source"] == "township"
    (event, _) = alerts.events("escalation.policy_updated")
    assert event["payload"]["scope_id"] == DONGSHAN and event["township_id"] == DONGSHAN
    assert alerts.counts(("audit_log",))["audit_log"] == before["audit_log"] + 2


def test_a_village_incident_without_a_village_skips_the_village_step(alerts: Alerts):
    incident = alerts.report("dongshan", village_id=None)
    assert [e["tier"] for e in alerts.escalations(incident["id"])] == ["township"]
    assert SHANGCUN not in str(alerts.escalations(incident["id"]))


def test_the_scheduler_reports_its_heartbeat_and_timers_it_has_not_fired(alerts: Alerts):
    """What the EscalationOverdue alert reads: a stalled scheduler leaves due timers unfired."""
    from services.alerts.escalation.scheduler import overdue_timers

    alerts.report()
    deadline = START + timedelta(hours=2)
    alerts.clock.set(deadline + timedelta(minutes=5))
    with alerts.runtime.db.read_session() as session:
        assert overdue_timers(session, alerts.clock.now()) == 1  # due, and no tick has run yet

    before = time.time()
    alerts.tick()
    metrics = alerts.client.get("/metrics").text
    assert "shian_escalation_timers_overdue 0.0" in metrics
    beat = next(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("shian_escalation_last_tick_timestamp_seconds ")
    )
    assert beat >= before


def test_acknowledgements_and_escalations_go_out_under_both_names_for_this_release(alerts: Alerts):
    incident = alerts.report()
    alerts.advance(minutes=40)
    alerts.as_("dongshan", "POST", f"/incidents/{incident['id']}/acknowledge", json={})
    for old, new in (
        ("alert.acknowledged", "incident.acknowledged"),
        ("alert.escalated", "incident.escalated"),
    ):
        before, after = alerts.events(old, incident["id"]), alerts.events(new, incident["id"])
        assert before and [e["payload"] for e in before] == [e["payload"] for e in after]
        assert [(e["actor"], e["occurred_at"], e["correlation_id"]) for e in before] == [
            (e["actor"], e["occurred_at"], e["correlation_id"]) for e in after
        ]
    audit_log = alerts.runtime.db.infra.audit_log
    with alerts.runtime.db.engine.connect() as connection:
        actions = connection.execute(
            sa.select(audit_log.c.action).where(audit_log.c.entity_id == incident["id"])
        ).scalars()
        assert [action for action in actions if "acknowledged" in action] == ["alert.acknowledged"]


OFFICE_HOURS = {"days": [1, 2, 3, 4, 5], "start": "08:30", "end": "17:30"}


def test_below_iv_reminders_wait_for_office_hours_and_level_iv_never_waits(alerts: Alerts):
    policy = {
        "steps": [
            {
                "name": "乡镇食安办",
                "tier": "township",
                "targets": [{"ref": "role:township_office"}],
                "office_hours": OFFICE_HOURS,
            }
        ]
    }
    assert alerts.as_("county", "PUT", f"/escalation/policies/{COUNTY}", json=policy).status_code == 200
    alerts.clock.set(START + timedelta(hours=7, minutes=30))  # Monday 16:30
    minor = alerts.report("dongshan", village_id=None, ill_count=5)
    serious = alerts.report("xishui", village_id=None, township_id=XISHUI, place_kind="school")
    assert (minor["level"], serious["level"]) == ("below_IV", "IV")

    alerts.advance(hours=2)  # 18:30: both reminders are due, outside office hours
    assert alerts.tick().fired == {"deferred": 1, "reminder": 1}  # level IV is reminded now
    assert tiers(alerts.escalations(serious["id"]))[-1] == ("township", "reminder")
    assert tiers(alerts.escalations(minor["id"])) == [("township", "reported")]
    (deferred,) = [
        e
        for e in alerts.as_("county", "GET", f"/incidents/{minor['id']}/timeline").json()
        if e["kind"] == "reminder_deferred"
    ]
    tuesday = START + timedelta(days=1, minutes=-30)  # Tuesday 08:30
    assert datetime.fromisoformat(deferred["detail"]["until"]) == tuesday

    alerts.clock.set(tuesday - timedelta(minutes=1))
    assert (
        alerts.tick().fired.get("deferred", 0) == 0
        and tiers(alerts.escalations(minor["id"]))[-1][1] == "reported"
    )
    alerts.clock.set(tuesday)
    assert alerts.tick().fired.get("reminder") == 1
    assert tiers(alerts.escalations(minor["id"]))[-1] == ("township", "reminder")
