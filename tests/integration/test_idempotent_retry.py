"""A client whose command was committed but never answered (the server was killed in between)
retries with the same Idempotency-Key: it gets the first answer, and the server holds one record.

Before, a retry after a kill between commit and answer stored two inspections."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path

import httpx
import pytest

from shared.auth import Role, issue_token
from shared.bus import decode_entry, publish
from shared.catalogue.registry import BusinessRegistered, PlaceDefined
from shared.events import Envelope
from shared.settings import Settings
from tests.support.inspection import results
from tests.support.processes import wait_until
from tests.support.service_process import ServiceProcess

pytestmark = pytest.mark.integration

COUNTY, TOWNSHIP, VILLAGE = "qingyun", "qingyun.dongshan", "qingyun.dongshan.shangcun"


def _feed_business(settings: Settings) -> str:
    business_id = uuid.uuid4()
    places = [
        PlaceDefined(place_id=COUNTY, level="county", name="青云县"),
        PlaceDefined(place_id=TOWNSHIP, level="township", name="东山镇", parent_id=COUNTY),
        PlaceDefined(place_id=VILLAGE, level="village", name="上村", parent_id=TOWNSHIP),
    ]
    registered = BusinessRegistered(
        business_id=business_id,
        name="好味餐馆",
        kind="catering",
        village_id=VILLAGE,
        risk_level="B",
        registered_on=date(2020, 1, 1),
    )
    envelopes = [
        Envelope.wrap(place, county_id=COUNTY, township_id=None, actor="system:registry") for place in places
    ]
    envelopes.append(
        Envelope.wrap(registered, county_id=COUNTY, township_id=TOWNSHIP, actor="system:registry")
    )
    asyncio.run(publish(settings, envelopes, producer="registry"))
    return str(business_id)


def _completed_events(settings: Settings) -> int:
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    try:
        entries = client.xrange(settings.stream("inspection"))
    finally:
        client.close()
    return sum(1 for _id, fields in entries if decode_entry(fields).type == "inspection.completed")


def test_a_retry_after_a_kill_between_commit_and_answer_gets_the_first_answer(
    settings: Settings, tmp_path: Path
) -> None:
    key = f"offline-{uuid.uuid4()}"
    workdir = tmp_path / "inspection"
    crashing = ServiceProcess(
        "inspection", settings, workdir, extra_env={"SHIAN_CRASH_AFTER_COMMIT_KEY": key}
    ).start()
    token = issue_token(
        settings, subject="ds-inspector", role=Role.inspector, county_id=COUNTY, township_id=TOWNSHIP
    )
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    try:
        business_id = _feed_business(settings)
        wait_until(
            lambda: (
                httpx.get(f"{crashing.url}/directory/businesses/{business_id}", headers=headers).status_code
                == 200
            ),
            timeout=30,
            what="the business in inspection's directory",
        )
        body = {"business_id": business_id, "kind": "routine", "inspectors": ["王强"], "items": results()}
        with pytest.raises(httpx.TransportError):
            httpx.post(f"{crashing.url}/inspections", json=body, headers=headers, timeout=30)
        assert crashing.wait_exit() != 0, "the service died between its commit and its answer"
    finally:
        crashing.kill()

    restarted = ServiceProcess("inspection", settings, workdir, port=crashing.port).start()
    try:
        retried = httpx.post(f"{restarted.url}/inspections", json=body, headers=headers, timeout=30)
        assert retried.status_code == 201, retried.text
        assert retried.headers["Idempotent-Replayed"] == "true"
        assert retried.json()["business_id"] == business_id
        listed = httpx.get(f"{restarted.url}/inspections", headers=headers, timeout=30).json()
        assert listed["total"] == 1
        assert [item["id"] for item in listed["items"]] == [retried.json()["id"]]
        wait_until(
            lambda: _completed_events(settings) >= 1, timeout=30, what="inspection.completed published"
        )
        assert _completed_events(settings) == 1
    finally:
        restarted.kill()
