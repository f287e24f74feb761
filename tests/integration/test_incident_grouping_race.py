"""Many callers report one outbreak at the same moment, on a real alerts process.

On PostgreSQL the reports used to read the incident's counts side by side and each write back its
own: an incident grouped from 128 accepted reports said 102 (the fault campaign found it). Reports
of one township are now grouped one at a time, and every command locks the incident it changes."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest

from shared.auth import Role, issue_token
from shared.bus import publish
from shared.catalogue.registry import PlaceDefined
from shared.events import Envelope
from shared.settings import Settings
from tests.support.processes import wait_until
from tests.support.service_process import ServiceProcess

pytestmark = pytest.mark.integration

COUNTY, TOWNSHIP, VILLAGE = "qingyun", "qingyun.dongshan", "qingyun.dongshan.shangcun"
REPORTS = 40


def _places(settings: Settings) -> None:
    places = [
        PlaceDefined(place_id=COUNTY, level="county", name="青云县"),
        PlaceDefined(place_id=TOWNSHIP, level="township", name="东山镇", parent_id=COUNTY),
        PlaceDefined(place_id=VILLAGE, level="village", name="上村", parent_id=TOWNSHIP),
    ]
    envelopes = [
        Envelope.wrap(p, county_id=COUNTY, township_id=None, actor="system:registry") for p in places
    ]
    asyncio.run(publish(settings, envelopes, producer="registry"))


async def _report_together(url: str, headers: dict[str, str]) -> list[httpx.Response]:
    body = {
        "township_id": TOWNSHIP,
        "village_id": VILLAGE,
        "ill_count": 12,
        "place_kind": "banquet",
        "description": "寿宴后多人腹泻",
    }
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return list(
            await asyncio.gather(
                *(client.post("/incidents", json=body, headers=headers) for _ in range(REPORTS))
            )
        )


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_reports_of_one_outbreak_arriving_together_make_one_incident_that_counts_them_all(
    database: str, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_database")() if database == "postgresql" else None
    alerts = ServiceProcess("alerts", settings, tmp_path / "alerts", database_url=url).start()
    token = issue_token(
        settings,
        subject="li-ming",
        role=Role.village,
        county_id=COUNTY,
        township_id=TOWNSHIP,
        village_id=VILLAGE,
    )
    headers = {"Authorization": f"Bearer {token}"}
    try:
        _places(settings)
        wait_until(
            lambda: httpx.get(f"{alerts.url}/incidents", headers=headers).status_code == 200,
            timeout=30,
            what="alerts to know the village",
        )
        answers = asyncio.run(_report_together(alerts.url, headers))
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses == {201: 1, 200: REPORTS - 1}, statuses
        assert len({answer.json()["id"] for answer in answers}) == 1, "one outbreak, one incident"
        incident = answers[0].json()["id"]
        found = httpx.get(f"{alerts.url}/incidents/{incident}", headers=headers).json()
        assert found["report_count"] == REPORTS
        reports = httpx.get(f"{alerts.url}/incidents/{incident}/reports", headers=headers).json()
        assert len(reports) == REPORTS
    finally:
        alerts.kill()
