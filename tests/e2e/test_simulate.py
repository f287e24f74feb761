"""The county simulator against the real system: the demo county's half-year of history played
through the five services' HTTP APIs (as `make run` loads it), after which reporting's figures
agree with what the plan says happened; loaded again, nothing is added.

The ground truth comes from the plan (`Plan.truth`), the figures through reporting's API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.auth import Role
from shared.clock import local_today
from shared.localredis import free_port
from shared.settings import SERVICE_NAMES
from shian.cli.up import _load_demo_history
from shian.demo import load_demo, read_county
from shian.launcher import System
from shian.simulate.driver import Player
from shian.simulate.history import DEMO_DAYS, DEMO_SEED, load_history, plan_for
from shian.simulate.plan import Plan
from tests.support.system import eventually, place_headers, service_env, start_or_fail

pytestmark = pytest.mark.e2e

SECRET = "sim-e2e-secret-" + "0123456789abcdef" * 2


def _logs(system: System) -> str:
    return "\n".join(f"--- {name} ---\n{system.log_tail(name, 30)}" for name in system.processes)


@pytest.fixture(scope="module")
def system(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    var_dir = tmp_path_factory.mktemp("sim") / "var"
    launched = System(
        var_dir=var_dir,
        redis_url=redis_url,
        ports={name: free_port() for name in SERVICE_NAMES},
        env=service_env(var_dir, f"sim{uuid.uuid4().hex[:10]}", SECRET, SHIAN_RATE_LIMIT_PER_MINUTE="0"),
    )
    try:
        start_or_fail(launched, _logs)
        load_demo(launched.urls["registry"], launched.settings, definition=read_county())
        yield launched
    finally:
        launched.stop()


@pytest.fixture(scope="module")
def plan() -> Plan:
    return plan_for("small", DEMO_SEED, DEMO_DAYS, definition=read_county())


def _figures(system: System, plan: Plan) -> dict[str, Any]:
    headers = place_headers(system.settings, Role.county, "qingyun", subject="sim-e2e-county")
    answer = httpx.get(
        f"{system.urls['reporting']}/statistics/qingyun",
        params={"from": plan.start.isoformat(), "to": local_today().isoformat()},
        headers=headers,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["figures"])


def _expected(plan: Plan) -> dict[str, float]:
    truth = plan.truth
    return {
        "inspections.total": truth.inspections,
        "failed": truth.failed_inspections,
        "problems.ordered": truth.orders,
        "problems.rectified_on_time": truth.verified_on_time,
        "problems.rectified_late": truth.verified_late,
        "problems.open": truth.open_orders,
        "problems.open_past_deadline": truth.open_past_deadline,
        "campaigns.inspections": truth.campaign_inspections,
        "complaints.received": truth.complaints,
        **{f"incidents.{level}": truth.incidents[level] for level in ("I", "II", "III", "IV", "below_IV")},
        "incidents.acknowledged": truth.acknowledged,
        "incidents.closed": truth.closed,
        "banquets.filed": truth.banquets,
        "banquets.late": truth.banquets_late,
        "banquets.guidance_due": truth.banquets_large,
        "publicity.events": truth.publicity,
        "trainings.held": truth.trainings,
    }


def _observed(figures: dict[str, Any]) -> dict[str, float]:
    def group(key: str, name: str) -> float:
        return float(next(g["value"] for g in figures[key]["groups"] if g["group"] == name))

    found = {key: float(figures[key]["value"]) for key in _KEYS if key in figures}
    found["failed"] = group("inspections.by_outcome", "basically_compliant") + group(
        "inspections.by_outcome", "non_compliant"
    )
    for level in ("I", "II", "III", "IV", "below_IV"):
        found[f"incidents.{level}"] = group("incidents.reported", level)
    return found


_KEYS = (
    "inspections.total",
    "problems.ordered",
    "problems.rectified_on_time",
    "problems.rectified_late",
    "problems.open",
    "problems.open_past_deadline",
    "campaigns.inspections",
    "complaints.received",
    "incidents.acknowledged",
    "incidents.closed",
    "banquets.filed",
    "banquets.late",
    "banquets.guidance_due",
    "publicity.events",
    "trainings.held",
)


def test_the_demo_history_played_through_the_apis_is_what_reporting_counts(
    system: System, plan: Plan
) -> None:
    result = load_history(system.urls, system.settings, plan)
    assert result.played and result.sent == len(plan.events) and result.replayed == 0
    expected = {key: float(value) for key, value in _expected(plan).items()}
    assert expected["problems.open_past_deadline"] > 0 and expected["incidents.closed"] < sum(
        plan.truth.incidents.values()
    ), "the demo shows overdue orders and an open incident"
    last: dict[str, float] = {}

    def agrees() -> bool:
        last.clear()
        last.update(_observed(_figures(system, plan)))
        return last == expected

    try:
        eventually(agrees, "reporting's figures to agree with the plan", timeout=90)
    except AssertionError:
        differ = {k: (v, last.get(k)) for k, v in expected.items() if last.get(k) != v}
        pytest.fail(f"(planned, counted) differ: {differ}\n{_logs(system)}")
    # the open incident is there to see
    headers = place_headers(system.settings, Role.county, "qingyun", subject="sim-e2e-county")
    open_ones = httpx.get(f"{system.urls['alerts']}/incidents", headers=headers, timeout=30).json()
    assert open_ones["total"] >= 1


def test_loading_the_history_again_adds_nothing_and_retried_commands_are_answered_not_repeated(
    system: System, plan: Plan
) -> None:
    before = _observed(_figures(system, plan))
    _load_demo_history(system, read_county())  # what a second `make run` on the same var/ does
    again = load_history(system.urls, system.settings, plan)
    assert not again.played and again.sent == 0
    # the commands themselves, sent again with their keys (a client retrying after a lost answer)
    player = Player(plan, system.urls, system.settings)
    progress = player.play(plan.events[:60])
    assert progress.sent == 60 and progress.replayed == 60
    assert _observed(_figures(system, plan)) == before
