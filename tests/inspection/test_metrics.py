"""The supervision gauges on /metrics: overdue rectification orders and grading coverage per
township, recomputed by the running scheduler loop from a known setup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.county import DONGSHAN, XISHUI, place_events
from tests.support.inspection import Inspection, results, running
from tests.support.waiting import wait_for


@pytest.fixture
def ticking(settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inspection]:
    """The service with its scheduler ticking every 50 ms instead of every minute."""
    monkeypatch.setenv("SHIAN_INSPECTION_CHECK_SECONDS", "0.05")
    with running(settings, clock) as system:
        for event in place_events():
            system.feed(event, township_id=None)
        yield system


def gauges(system: Inspection) -> dict[str, dict[str, float]]:
    """Gauge name -> township -> value, as a scrape reads them."""
    text = system.client.get("/metrics").text
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name in ("shian_rectifications_overdue", "shian_grading_coverage_ratio"):
            found[family.name] = {sample.labels["township"]: sample.value for sample in family.samples}
    return found


def test_overdue_orders_and_coverage_per_township_are_on_metrics(ticking: Inspection):
    failing, passing, _never_inspected = (ticking.business(name) for name in ("甲餐馆", "乙餐馆", "丙餐馆"))
    ticking.business("丁超市", kind="catering", township_id=XISHUI, village_id=None)
    ticking.inspected(failing, items=results(fail=("4.2", "3.2")))
    ticking.inspected(passing)
    ticking.advance(days=20)  # past every rectification deadline of the rule table
    ticking.inspected(passing, items=results(fail=("4.2",)))  # a new order, not yet due

    expected = {
        "shian_rectifications_overdue": {DONGSHAN: 2.0, XISHUI: 0.0},
        "shian_grading_coverage_ratio": {DONGSHAN: round(2 / 3, 4), XISHUI: 0.0},
    }
    wait_for(lambda: gauges(ticking) == expected, timeout=10, what=f"gauges {expected}")

    coverage = ticking.as_("county", "GET", "/coverage").json()
    assert {row["township_id"]: row["ratio"] for row in coverage["townships"]} == expected[
        "shian_grading_coverage_ratio"
    ]

    # Putting the failed items right clears the overdue count at a later tick.
    ticking.inspected(failing)
    ticking.inspected(passing)
    wait_for(
        lambda: gauges(ticking)["shian_rectifications_overdue"] == {DONGSHAN: 0.0, XISHUI: 0.0},
        timeout=10,
        what="no overdue order left",
    )
