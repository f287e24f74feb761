"""The four services as real processes (`shian.launcher.System`, as `shian up` starts them),
shared by the operations and end-to-end tests: their environment, bearer headers for the demo
county's people, waiting, and the traffic that makes every metric appear."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from services.registry.places.county import read_county
from shared.auth import Role, issue_token
from shared.settings import SERVICE_NAMES, Settings
from shian.demo import places
from shian.launcher import LaunchError, System
from tests.support.county import DONGSHAN, SHANGCUN

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DEADLINE = 30.0  # seconds for events to travel on a loaded 2-core machine


def start_or_fail(system: System, logs: Callable[[System], str]) -> None:
    """Start the system's processes and wait until each is ready, or fail the test with `logs`."""
    try:
        system.start()
        system.wait_ready(timeout=120)
    except LaunchError as error:
        pytest.fail(f"the system did not start: {error}\n{logs(system)}")


def eventually(check: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def service_env(var_dir: Path, prefix: str, secret: str, **extra: str) -> dict[str, str]:
    """The environment of the four service processes: test settings, their own streams and
    databases under `var_dir`, quick reads and reclaims for a loaded machine, then `extra`."""
    env = {
        "SHIAN_ENV": "test",
        "SHIAN_SECRET_KEY": secret,
        "SHIAN_STREAM_PREFIX": prefix,
        "SHIAN_BLOCK_MS": "200",
        "SHIAN_RELAY_POLL_SECONDS": "0.1",
        "SHIAN_CLAIM_IDLE_MS": "2000",
        **extra,
    }
    for name in SERVICE_NAMES:  # never a database the developer's environment happens to name
        env[f"SHIAN_{name.upper()}_DATABASE_URL"] = f"sqlite:///{var_dir / f'{name}.db'}"
    return env


@dataclass
class Traffic:
    """What the fixture did to the running system, for the tests to look for."""

    business_id: str
    incident_id: str
    unreadable_entry: str


@dataclass
class RunningSystem:
    system: System
    env: dict[str, str]
    traffic: Traffic

    @property
    def settings(self) -> Settings:
        return self.system.settings

    def redis(self) -> redis.Redis:
        assert self.system.redis_url is not None
        return redis.Redis.from_url(self.system.redis_url, socket_timeout=5)


def place_headers(settings: Settings, role: Role, place_id: str, *, subject: str) -> dict[str, str]:
    """A bearer header for `role` at a place of the demo county (the one `shian demo` loads),
    valid for an hour."""
    place = places(read_county())[place_id]
    token = issue_token(
        settings,
        subject=subject,
        role=role,
        county_id=place.county_id,
        township_id=place.township_id,
        village_id=place.village_id,
        ttl=timedelta(hours=1),
    )
    return {"Authorization": f"Bearer {token}"}


def _headers(system: System, role: Role, place_id: str) -> dict[str, str]:
    return place_headers(system.settings, role, place_id, subject=f"ops-{role.value}")


def drive_traffic(system: System) -> Traffic:
    """Places, a business, a level IV incident, and one entry no service can read."""
    urls = system.urls
    with httpx.Client(timeout=10) as http:
        county = _headers(system, Role.county, "qingyun")
        definition = read_county().model_dump(mode="json")
        answer = http.put(f"{urls['registry']}/places", json=definition, headers=county)
        assert answer.status_code == 200, answer.text
        answer = http.post(
            f"{urls['registry']}/businesses",
            json={"name": "东山好味餐馆", "kind": "catering", "village_id": SHANGCUN},
            headers=_headers(system, Role.township, DONGSHAN),
        )
        assert answer.status_code == 201, answer.text
        business_id = answer.json()["id"]
        incident = {
            "township_id": DONGSHAN,
            "village_id": SHANGCUN,
            "ill_count": 35,
            "death_count": 0,
            "place_kind": "banquet",
            "description": "寿宴后多人腹泻",
        }
        coordinator = _headers(system, Role.village, SHANGCUN)

        def report() -> httpx.Response | None:  # 422 until alerts has learnt the village
            answer = http.post(f"{urls['alerts']}/incidents", json=incident, headers=coordinator)
            assert answer.status_code in (201, 422), answer.text
            return answer if answer.status_code == 201 else None

        incident_id = eventually(report, "alerts to accept the incident").json()["id"]
    assert system.redis_url is not None
    client = redis.Redis.from_url(system.redis_url, socket_timeout=5)
    try:
        entry = client.xadd(system.settings.stream("registry"), {"garbage": "not an event"})
    finally:
        client.close()
    return Traffic(business_id=business_id, incident_id=incident_id, unreadable_entry=entry.decode())


def unsettled(client: redis.Redis, streams: list[str]) -> list[str]:
    """Groups that have not yet read and acknowledged everything on their stream."""
    behind = []
    for stream in streams:
        if not client.exists(stream):
            continue
        for group in client.xinfo_groups(stream):
            lag = group.get("lag")
            if lag is None:  # Redis < 7, or it cannot tell: look past the last delivered entry
                lag = len(client.xrange(stream, min=b"(" + group["last-delivered-id"], count=1))
            if group["pending"] or lag:
                behind.append(f"{stream}/{group['name'].decode()}: lag {lag}, pending {group['pending']}")
    return behind
