"""The county simulator's plan: the same seed gives the same county year, event for event, and
the plan keeps the rates it promises (risk-level frequencies, failures, rectifications, banquets,
incident levels) and its own ground truth."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from services.inspection.checklists import templates
from services.inspection.rules import inspection_frequency
from services.registry.places.county import read_county
from services.registry.rules import risk_level
from shian.simulate import plan as planning
from shian.simulate.driver import ORDERED_PHASES, batches
from shian.simulate.plan import SCALES, Plan, Scale, make_plan, simulated_county

LAST = date(2026, 11, 30)
MEDIUM = Scale("medium", townships=4, villages_per_township=10, businesses=2000, incidents_per_year=400)


def _plan(seed: int = 3, scale: Scale = MEDIUM, days: int = 365, last: date = LAST) -> Plan:
    county = read_county() if scale.townships == 0 else simulated_county(scale, seed)
    return make_plan(seed=seed, scale=scale, county=county, last_day=last, days=days)


@pytest.fixture(scope="module")
def year() -> Plan:
    return _plan()


def test_the_same_seed_gives_the_same_plan_and_another_seed_another(year: Plan) -> None:
    again = _plan()
    assert again.digest() == year.digest()
    assert again.events == year.events
    assert again.truth == year.truth
    assert _plan(seed=4).digest() != year.digest()
    assert simulated_county(MEDIUM, 3) == simulated_county(MEDIUM, 3)


def test_events_are_in_order_of_day_and_phase_and_name_only_what_came_before(year: Plan) -> None:
    order = {phase: n for n, phase in enumerate(planning.PHASES)}
    assert [(e.day, order[e.phase]) for e in year.events] == sorted(
        (e.day, order[e.phase]) for e in year.events
    )
    seen: set[str] = set()
    keys = Counter(event.key for event in year.events)
    assert max(keys.values()) == 1, "every event has its own key (its Idempotency-Key)"
    for event in year.events:
        assert 0 <= event.day < year.days
        assert set(event.refs.values()) <= seen, f"{event.key} names what was not made before it"
        seen.add(event.key)


def test_no_date_is_in_the_future_or_before_the_period(year: Plan) -> None:
    for event in year.events:
        for name in ("inspected_at", "received_at", "onset_at"):
            if name in event.body:
                moment = date.fromisoformat(event.body[name][:10])
                assert year.start <= moment <= year.last_day
        if event.phase == "business":
            assert date.fromisoformat(event.body["registered_on"]) < year.start


def test_inspections_follow_the_risk_level_frequencies(year: Plan) -> None:
    kinds = {e.key: e.body["kind"] for e in year.events if e.phase == "business"}
    routine = Counter(
        kinds[e.refs["business_id"]]
        for e in year.events
        if e.phase == "inspection" and e.body["kind"] == "routine"
    )
    businesses = Counter(kinds.values())
    rule = inspection_frequency.rule_for("default", LAST)
    for kind, count in businesses.items():
        checklist = templates.template_for(templates.checklist_kind_for(kind), on=LAST)
        if checklist is None:
            assert routine[kind] == 0, f"{kind} has no checklist, so no inspections"
            continue
        due = inspection_frequency.due_per_year(
            risk_level.initial_risk_level(kind, risk_level.rule_for("default", LAST)), rule
        )
        if count >= 50:  # enough businesses for the mean to be close
            assert routine[kind] / count == pytest.approx(due, rel=0.15), kind


def test_failures_rectifications_and_orders_keep_their_rates(year: Plan) -> None:
    truth = year.truth
    first = [e for e in year.events if e.phase == "inspection" and e.body["kind"] != "reinspection"]
    failed = [e for e in first if any(i["result"] == "fail" for i in e.body["items"])]
    assert len(failed) / len(first) == pytest.approx(planning.FAIL_RATE, abs=0.03)
    assert truth.failed_inspections == len(failed)
    assert all(
        i["result"] == "pass"
        for e in year.events
        if e.body.get("kind") == "reinspection"
        for i in e.body["items"]
    )
    # every order is verified on time, late, or still open
    assert truth.orders == truth.verified_on_time + truth.verified_late + truth.open_orders
    assert truth.verified_on_time > truth.verified_late > 0
    assert 0 < truth.open_past_deadline <= truth.open_orders


def test_banquets_late_and_large_at_their_rates(year: Plan) -> None:
    banquets = [e for e in year.events if e.phase == "banquet"]
    assert len(banquets) == year.truth.banquets > 300
    assert year.truth.banquets_late / len(banquets) == pytest.approx(planning.BANQUET_LATE, abs=0.05)
    assert year.truth.banquets_large / len(banquets) == pytest.approx(planning.BANQUET_LARGE, abs=0.05)
    late = sum(
        (e.body["lead_days"] < 3) if e.body["occasion"] != "funeral" else (e.body["lead_days"] < 0)
        for e in banquets
    )
    assert late == year.truth.banquets_late
    assert sum(e.body["people"] >= 100 for e in banquets) == year.truth.banquets_large


def test_incidents_of_every_level_at_their_thresholds_and_the_newest_left_open(year: Plan) -> None:
    incidents = [e for e in year.events if e.phase == "incident"]
    assert set(year.truth.incidents) == set(planning.LEVEL_WEIGHTS)
    assert sum(year.truth.incidents.values()) == len(incidents) == 400
    share = {level: n / len(incidents) for level, n in year.truth.incidents.items()}
    total = sum(planning.LEVEL_WEIGHTS.values())
    for level, weight in planning.LEVEL_WEIGHTS.items():
        assert share[level] == pytest.approx(weight / total, abs=0.06), level
    named = [e.refs["business_id"] for e in incidents]
    assert len(set(named)) == len(named), "each incident names its own business: none is grouped with another"
    acknowledged = {e.refs["incident_id"] for e in year.events if e.phase == "acknowledge"}
    closed = {e.refs["incident_id"] for e in year.events if e.phase == "close"}
    assert closed <= acknowledged and incidents[-1].key not in acknowledged
    assert len(acknowledged) == year.truth.acknowledged and len(closed) == year.truth.closed


def test_small_scale_is_the_demo_county_with_overdue_orders_and_an_open_incident() -> None:
    half = _plan(seed=1, scale=SCALES["small"], days=182)
    county = read_county()
    assert {e.place for e in half.events if e.role == "township"} <= {t.id for t in county.townships}
    assert half.truth.businesses == SCALES["small"].businesses
    assert half.truth.open_past_deadline > 0 and half.truth.inspections > 100
    assert sum(half.truth.incidents.values()) > half.truth.closed
    assert len(half.events) < 1500, "the demo history stays small enough for `make run`"
    assert (
        half.marker()
        == _plan(seed=1, scale=SCALES["small"], days=182, last=LAST + timedelta(days=3)).marker()
    )


def test_batches_never_hold_an_event_with_what_it_names_or_two_ordered_commands_on_one_record(
    year: Plan,
) -> None:
    found = batches(year.events, 64)
    assert [e for batch in found for e in batch] == year.events
    for batch in found:
        keys = {e.key for e in batch}
        subjects = [
            e.refs.get("business_id") or e.refs.get("incident_id") for e in batch if e.phase in ORDERED_PHASES
        ]
        assert len(batch) <= 64
        assert not any(set(e.refs.values()) & keys for e in batch)
        assert len(subjects) == len(set(subjects))
