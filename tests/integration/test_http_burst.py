"""A service under a burst of concurrent commands, as a real process with worker threads.

About 80 concurrent POSTs used to deadlock a service: a request held SQLite's write lock (or a
pooled PostgreSQL connection) while FastAPI waited for a worker thread to render its answer, and
every worker waited for that lock; after 30 s half the burst answered 500 and the consumers froze.
Now every request in service renders and commits in its own thread, at most
SHIAN_HTTP_CONCURRENCY are served at once, and the rest wait in line or are shed with 503.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from shared.auth import Role, issue_token
from shared.bus import publish
from shared.catalogue.inspection import CampaignLaunched
from shared.events import Envelope
from shared.settings import Settings
from tests.support.service_process import ServiceProcess

pytestmark = pytest.mark.integration

COUNTY = {
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
    token = issue_token(settings, subject="county-office", role=Role.county, county_id="qingyun")
    return {"Authorization": f"Bearer {token}"}


async def _burst(url: str, headers: dict[str, str], count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def register(index: int) -> httpx.Response:
            body = {"name": f"店{index:04d}", "kind": "catering", "village_id": "qingyun.dongshan.shangcun"}
            return await client.post("/businesses", json=body, headers=headers)

        return list(await asyncio.gather(*(register(i) for i in range(count))))


def _consumed(url: str) -> float:
    """Events the registry's consumer has taken from the inspection stream (any outcome)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    pattern = re.compile(r'^shian_events_consumed_total\{[^}]*stream="[^"]*\.inspection"[^}]*\} (\S+)$', re.M)
    return sum(float(value) for value in pattern.findall(text))


def _run_burst(registry: ServiceProcess, settings: Settings, count: int) -> tuple[Counter[int], float]:
    headers = _headers(settings)
    assert httpx.put(f"{registry.url}/places", json=COUNTY, headers=headers, timeout=30).status_code == 200
    started = time.monotonic()
    answers = asyncio.run(_burst(registry.url, headers, count))
    elapsed = time.monotonic() - started
    statuses = Counter(answer.status_code for answer in answers)
    for answer in answers:
        if answer.status_code == 503:
            assert int(answer.headers["Retry-After"]) >= 1
    created = statuses[201]
    total = httpx.get(f"{registry.url}/businesses?limit=1", headers=headers, timeout=30).json()["total"]
    assert total == created, "every 201 is one business, and nothing else was written"
    return statuses, elapsed


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_burst_of_500_commands_is_answered_in_seconds_and_the_consumer_keeps_up(
    database: str, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = None
    if database == "postgresql":
        url = request.getfixturevalue("pg_database")()
    registry = ServiceProcess("registry", settings, tmp_path / "registry", database_url=url).start()
    try:
        before = _consumed(registry.url)
        events = [
            Envelope.wrap(
                CampaignLaunched(
                    campaign_id=f"00000000-0000-4000-8000-{index:012d}",
                    name="中秋节专项检查",
                    kind="holiday",
                    starts_on="2026-09-01",
                    ends_on="2026-09-30",
                ),
                county_id="qingyun",
                township_id=None,
                actor="test",
            )
            for index in range(20)
        ]

        async def burst_and_publish() -> tuple[list[httpx.Response], float]:
            burst = asyncio.create_task(_burst(registry.url, _headers(settings), 500))
            await asyncio.sleep(0.3)  # the burst is in service
            await publish(settings, events, producer="inspection")
            published = time.monotonic()
            while _consumed(registry.url) < before + len(events):
                assert time.monotonic() - published < 15, "the consumer froze while HTTP was saturated"
                await asyncio.sleep(0.1)
            return await burst, time.monotonic() - published

        headers = _headers(settings)
        assert (
            httpx.put(f"{registry.url}/places", json=COUNTY, headers=headers, timeout=30).status_code == 200
        )
        started = time.monotonic()
        answers, consumer_delay = asyncio.run(burst_and_publish())
        elapsed = time.monotonic() - started
        statuses = Counter(answer.status_code for answer in answers)
        assert set(statuses) <= {201, 503}, statuses
        assert statuses[201] >= 250, f"most of the burst is served, not shed: {statuses}"
        total = httpx.get(f"{registry.url}/businesses?limit=1", headers=headers, timeout=30).json()["total"]
        assert total == statuses[201]
        assert elapsed < 90, f"the burst took {elapsed:.1f}s"
        assert consumer_delay < 15
        assert "Traceback" not in registry.log()
    finally:
        registry.kill()


def test_a_service_past_its_line_sheds_with_503_and_retry_after(settings: Settings, tmp_path: Path) -> None:
    registry = ServiceProcess(
        "registry",
        settings,
        tmp_path / "registry",
        extra_env={"SHIAN_HTTP_CONCURRENCY": "2", "SHIAN_HTTP_QUEUE": "10", "SHIAN_HTTP_QUEUE_SECONDS": "2"},
    ).start()
    try:
        statuses, _elapsed = _run_burst(registry, settings, 200)
        assert statuses[503] > 0, "a full line answers 503 at once"
        assert statuses[201] > 0
        assert set(statuses) <= {201, 503}, statuses
        metrics = httpx.get(f"{registry.url}/metrics", timeout=10).text
        assert re.search(r'shian_http_shed_total\{reason="queue_full",service="registry"\} [1-9]', metrics)
    finally:
        registry.kill()
