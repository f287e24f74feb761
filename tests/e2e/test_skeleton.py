"""The walking skeleton end to end: the five services as real processes (started by the same
`shian.launcher.System` that `shian up` uses), talking over a real Redis, driven over HTTP.

A county loads its places; a township registers a business; inspection's directory learns it; a
village coordinator reports 35 ill (level IV); reporting's summary counts both. Another township
sees none of it (404) and nobody without a token gets in (401).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import Role, issue_token
from shared.clock import local_today
from shared.localredis import free_port
from shared.settings import DOMAIN_SERVICES, SERVICE_NAMES
from shian.demo import load_demo_accounts, read_county
from shian.launcher import System
from tests.support.system import place_headers, service_env, start_or_fail

pytestmark = pytest.mark.e2e

SECRET = "e2e-secret-key-" + "fedcba9876543210" * 2
DONGSHAN = "qingyun.dongshan"
XISHUI = "qingyun.xishui"
SHANGCUN = "qingyun.dongshan.shangcun"
DEADLINE = 30.0  # seconds for an event to travel: generous for a loaded 2-core machine


def _logs(system: System) -> str:
    """Each service's error lines (the exception, not 100 lines of traceback), and where its log is."""
    parts = []
    for name, proc in system.processes.items():
        lines = system.log_tail(name, 400).splitlines()
        errors = [line for line in lines if "Error" in line or "[error" in line or "Exception" in line]
        parts.append(
            f"--- {name} ({proc.log_path}) ---\n" + ("\n".join(errors[-12:]) or "(no errors logged)")
        )
    return "\n".join(parts)


@pytest.fixture(scope="module")
def system(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    var_dir = tmp_path_factory.mktemp("e2e") / "var"
    prefix = f"e2e{uuid.uuid4().hex[:10]}"
    launched = System(
        var_dir=var_dir,
        redis_url=redis_url,
        ports={name: free_port() for name in SERVICE_NAMES},
        env=service_env(var_dir, prefix, SECRET, SHIAN_LOG_LEVEL="INFO"),
    )
    try:
        start_or_fail(launched, _logs)
        yield launched
    finally:
        children = [proc.process for proc in launched.processes.values() if proc.process is not None]
        launched.stop()
        for child in children:
            assert child.returncode is not None, f"pid {child.pid} still runs after stop()"
        assert not (var_dir / "system.json").exists()


class Users:
    """Bearer headers for the people of the demo county."""

    def __init__(self, system: System) -> None:
        self.settings = system.settings

    def __call__(self, role: Role, place_id: str) -> dict[str, str]:
        return place_headers(self.settings, role, place_id, subject=f"e2e-{role.value}")


def expect(system: System, response: httpx.Response, *codes: int) -> httpx.Response:
    """The response if its status is one of `codes`; else fail with its body and the services' logs."""
    if response.status_code not in codes:
        request = response.request
        time.sleep(0.5)  # a service logs its exception just after it has answered 500
        pytest.fail(
            f"{request.method} {request.url} answered {response.status_code}, expected "
            f"{' or '.join(map(str, codes))}: {response.text[:1000]}\n{_logs(system)}"
        )
    return response


def eventually(check: Callable[[], Any], what: str, system: System, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        dead = system.deaths()
        if dead:
            pytest.fail(f"{'; '.join(d.describe() for d in dead)} while waiting for {what}\n{_logs(system)}")
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})\n{_logs(system)}")


def test_every_service_answers_health_readiness_metrics_and_docs(system: System) -> None:
    with httpx.Client(timeout=10) as http:
        for name, url in system.urls.items():
            assert http.get(f"{url}/healthz").json() == {"status": "ok", "service": name}
            assert http.get(f"{url}/readyz").status_code == 200
            metrics = http.get(f"{url}/metrics")
            assert metrics.status_code == 200 and "shian_" in metrics.text, name
            if name == "web":  # pages, not an API: no /docs
                continue
            assert http.get(f"{url}/docs").status_code == 200
            assert http.get(f"{url}/openapi.json").status_code == 200


def test_a_business_and_an_incident_travel_through_all_four_services(system: System) -> None:
    user = Users(system)
    county = user(Role.county, "qingyun")
    dongshan = user(Role.township, DONGSHAN)
    xishui = user(Role.township, XISHUI)
    inspector = user(Role.inspector, DONGSHAN)
    coordinator = user(Role.village, SHANGCUN)
    registry, inspection, alerts, reporting = (
        httpx.Client(base_url=system.urls[name], timeout=10) for name in DOMAIN_SERVICES
    )

    # the county office loads its places
    definition = read_county().model_dump(mode="json")
    loaded = expect(system, registry.put("/places", json=definition, headers=county), 200)
    assert loaded.json()["changed"] >= 1 + 2 + 3  # county, two townships, their villages

    # a township office registers a business
    created = registry.post(
        "/businesses",
        json={
            "name": "东山好味餐馆",
            "kind": "catering",
            "village_id": SHANGCUN,
            "operator": "王建华",
            "address": "青云县东山镇上村12号",
        },
        headers=dongshan,
    )
    business = expect(system, created, 201).json()
    assert business["township_id"] == DONGSHAN

    # inspection's directory learns it from the registry's events; until inspection knows the
    # places (`place.defined`), it refuses the inspector's token as naming an unknown place: 401
    def in_directory() -> dict | None:
        answer = inspection.get("/directory/businesses", headers=inspector)
        if answer.status_code == 401:
            return None
        page = expect(system, answer, 200)
        found = [item for item in page.json()["items"] if item["id"] == business["id"]]
        return found[0] if found else None

    listed = eventually(in_directory, "inspection's directory to hold the business", system)
    assert listed["name"] == "东山好味餐馆"
    expect(system, inspection.get(f"/directory/businesses/{business['id']}", headers=inspector), 200)

    # a village coordinator reports 35 ill. Alerts knows the village only from `place.defined`
    # events; until they arrive it answers 422 (and writes nothing), so a 422 is retried.
    incident_body = {
        "township_id": DONGSHAN,
        "village_id": SHANGCUN,
        "business_id": business["id"],
        "ill_count": 35,
        "death_count": 0,
        "place_kind": "banquet",
        "description": "寿宴后多人腹泻",
    }

    def report() -> httpx.Response | None:
        answer = expect(system, alerts.post("/incidents", json=incident_body, headers=coordinator), 201, 422)
        return answer if answer.status_code == 201 else None

    incident = eventually(report, "alerts to accept the incident", system).json()
    assert incident["level"] == "IV"
    assert incident["township_id"] == DONGSHAN

    # reporting counts both, built from events only
    today = local_today()
    period = {"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()}

    def counted() -> dict | None:
        answer = reporting.get(f"/summaries/{DONGSHAN}", params=period, headers=dongshan)
        if answer.status_code == 404:  # reporting has not learnt of the township yet
            return None
        body = expect(system, answer, 200).json()
        done = body["businesses"]["registered_total"] == 1 and body["incidents"]["total"] == 1
        return body if done else None

    summary = eventually(counted, "reporting to count the business and the incident", system)
    assert summary["township_name"] == "东山镇"
    assert summary["businesses"]["by_kind"] == {"catering": 1}
    assert summary["incidents"]["by_level"].get("IV") == 1
    assert summary["incidents"]["ill"] == 35

    # another township sees none of it: 404, as if it did not exist
    expect(system, reporting.get(f"/summaries/{DONGSHAN}", params=period, headers=xishui), 404)
    expect(system, registry.get(f"/businesses/{business['id']}", headers=xishui), 404)
    expect(system, inspection.get(f"/directory/businesses/{business['id']}", headers=xishui), 404)
    expect(system, alerts.get(f"/incidents/{incident['id']}", headers=xishui), 404)
    expect(system, reporting.get(f"/summaries/{XISHUI}", params=period, headers=xishui), 200)

    # nobody gets in without a token
    expect(system, registry.get(f"/businesses/{business['id']}"), 401)
    expect(system, registry.get("/businesses"), 401)
    expect(system, inspection.get("/directory/businesses"), 401)
    expect(system, alerts.post("/incidents", json=incident_body), 401)
    expect(system, reporting.get(f"/summaries/{DONGSHAN}", params=period), 401)
    elsewhere = system.settings.model_copy(update={"secret_key": "another-" + SECRET})
    forged = issue_token(elsewhere, subject="mallory", role=Role.county, county_id="qingyun")
    expect(system, registry.get("/businesses", headers={"Authorization": f"Bearer {forged}"}), 401)

    for client in (registry, inspection, alerts, reporting):
        client.close()


def test_a_dead_service_is_noticed_and_everything_it_started_is_stopped(tmp_path: Path) -> None:
    """What `shian up` relies on: a child that dies is reported, and stop() ends the rest,
    including a Redis it started itself (no redis_url: a private one)."""
    var_dir = tmp_path / "var"
    launched = System(
        var_dir=var_dir,
        services=("registry", "alerts"),
        ports={"registry": free_port(), "alerts": free_port()},
        env=service_env(var_dir, f"e2e{uuid.uuid4().hex[:10]}", SECRET, SHIAN_LOG_LEVEL="INFO"),
    )
    try:
        launched.start()
        launched.wait_ready(timeout=120)
        assert launched.started_redis
        redis_pid = launched.pids["redis"]
        victim = launched.processes["alerts"].process
        assert victim is not None
        victim.kill()
        dead = launched.watch()
        assert [death.name for death in dead] == ["alerts"]
        assert "signal 9" in dead[0].describe()
    finally:
        launched.stop()
    assert all(proc.returncode is not None for proc in launched.processes.values())
    with pytest.raises(ProcessLookupError):
        os.kill(redis_pid, 0)


def test_identitys_token_opens_every_service_and_a_sign_out_closes_them_within_two_seconds(
    system: System,
) -> None:
    """Sign in at identity (the demo accounts `shian up --demo` makes), read each of the four
    services with the access token, sign out: each refuses the token (401) within 2 s, from the
    `session.revoked` event it read on identity's stream."""
    definition = read_county()
    registry = httpx.Client(base_url=system.urls["registry"], timeout=10)
    county_headers = Users(system)(Role.county, "qingyun")
    expect(
        system, registry.put("/places", json=definition.model_dump(mode="json"), headers=county_headers), 200
    )
    accounts = load_demo_accounts(system.settings, definition)
    county = next(account for account in accounts if account.role == "county")
    identity = httpx.Client(base_url=system.urls["identity"], timeout=10)
    signed = expect(
        system, identity.post("/sessions", json={"mobile": county.mobile, "password": county.password}), 201
    )
    bearer = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    reads = {
        "registry": "/businesses",
        "inspection": "/directory/businesses",
        "alerts": "/incidents",
        "reporting": "/activities/trainings",
    }
    clients = {name: httpx.Client(base_url=system.urls[name], timeout=10) for name in reads}
    for name, path in reads.items():  # each service learns the county's place from the registry
        eventually(
            lambda name=name, path=path: clients[name].get(path, headers=bearer).status_code == 200,
            f"{name} to take identity's token",
            system,
        )
    # a command with a body is checked before the body is read, on the event loop, from the cache
    answer = clients["alerts"].post("/incidents", json={}, headers=bearer)
    assert answer.status_code == 422, answer.text

    expect(system, identity.delete("/sessions/current", headers=bearer), 204)
    signed_out = time.monotonic()
    refused: dict[str, float] = {}
    while len(refused) < len(reads) and time.monotonic() - signed_out < 10:
        for name, path in reads.items():
            if name not in refused and clients[name].get(path, headers=bearer).status_code == 401:
                refused[name] = time.monotonic() - signed_out
        time.sleep(0.05)
    assert set(refused) == set(reads), refused
    assert max(refused.values()) <= 2.0, refused
    assert clients["alerts"].post("/incidents", json={}, headers=bearer).status_code == 401
