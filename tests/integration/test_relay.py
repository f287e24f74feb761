"""The outbox relay under faults: a Redis outage during a busy minute, two processes on one file."""

from __future__ import annotations

import time

import pytest
import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient

from services.registry.app import SPEC as REGISTRY
from services.registry.app import create as create_registry
from shared.auth import Role, issue_token
from shared.localredis import RedisHandle
from shared.migrations import upgrade
from shared.settings import Settings
from tests.support.processes import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

DEFINITION = {
    "id": "qingyun",
    "name": "青云县",
    "townships": [
        {
            "id": "qingyun.dongshan",
            "name": "东山镇",
            "villages": [{"id": "qingyun.dongshan.shangcun", "name": "上村"}],
        }
    ],
}


def _headers(settings: Settings) -> dict[str, str]:
    token = issue_token(settings, subject="c", role=Role.county, county_id="qingyun")
    return {"Authorization": f"Bearer {token}"}


def _register(client: TestClient, headers: dict[str, str], name: str) -> None:
    body = {"name": name, "kind": "catering", "village_id": "qingyun.dongshan.shangcun"}
    assert client.post("/businesses", json=body, headers=headers).status_code == 201


def _metric(client: TestClient, name: str, **labels: str) -> float:
    text = client.get("/metrics").text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_commits_during_a_redis_outage_do_not_hurry_the_relays_retries(
    redis_server: RedisHandle, settings: Settings
) -> None:
    settings = settings.model_copy(update={"redis_url": redis_server.url})
    upgrade(REGISTRY.migrations, settings.database_url("registry"))
    headers = _headers(settings)
    with TestClient(create_registry(settings)) as registry:
        runtime = registry.app.state.runtime
        wait_until(lambda: runtime.relay.healthy, timeout=10, what="the relay to run")
        assert registry.put("/places", json=DEFINITION, headers=headers).status_code == 200
        redis_server.kill()
        before = _metric(registry, "shian_bus_errors_total", kind="publish_failed")
        started = time.monotonic()
        count = 0
        while time.monotonic() - started < 4.0:  # a busy office: a command every 100 ms
            _register(registry, headers, f"店{count}")
            count += 1
            time.sleep(0.1)
        attempts = _metric(registry, "shian_bus_errors_total", kind="publish_failed") - before
        # backoff 0.2, 0.4, 0.8, 1.6, 3.2 s: about five attempts in four seconds, whatever the commits
        assert 1 <= attempts <= 7, f"{attempts} publish attempts during a 4 s outage with {count} commits"
        redis_server.start()
        wait_until(lambda: runtime.relay.healthy, timeout=20, what="the relay to publish again")


def test_two_processes_on_one_sqlite_file_publish_each_row_once(settings: Settings) -> None:
    upgrade(REGISTRY.migrations, settings.database_url("registry"))
    headers = _headers(settings)
    with TestClient(create_registry(settings)) as first, TestClient(create_registry(settings)) as second:
        assert first.put("/places", json=DEFINITION, headers=headers).status_code == 200
        for index in range(60):
            _register(first if index % 2 else second, headers, f"店{index}")
        engine = sa.create_engine(settings.database_url("registry"))
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one()

            def drained() -> bool:
                unpublished = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
                return connection.execute(sa.text(unpublished)).scalar_one() == 0

            wait_until(drained, timeout=20, what="the outbox to drain")
        engine.dispose()
        client = redis.Redis.from_url(settings.redis_url)
        assert client.xlen(settings.stream("registry")) == rows, "each row published once"
        published = [_metric(app, "shian_outbox_published_total") for app in (first, second)]
        assert sorted(published) == [0.0, float(rows)], published
