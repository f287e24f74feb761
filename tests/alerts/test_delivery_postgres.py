"""On PostgreSQL (production's database), with two replicas of the alerts app on one database: every
card goes out once however the replicas' delivery runs interleave, and taps on one link at once
acknowledge once (the incident's row lock and the link's conditional UPDATE)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest

from services.alerts.app import SPEC, create
from services.alerts.config import AlertsConfig
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.alerts import Alerts
from tests.support.county import START, XISHUI, place_events
from tests.support.harness import running_service
from tests.support.providers import FakeDingTalk, configure, dingtalk_body, serving

pytestmark = pytest.mark.integration


@pytest.fixture
def replicas(settings: Settings, pg_database: Callable[[], str]) -> Iterator[tuple[Alerts, Alerts]]:
    on_postgres = settings.model_copy(update={"alerts_database_url": pg_database()})
    config = AlertsConfig(
        env="test", tick_seconds=60, notify_seconds=60, notify_on_commit=False, webhook_backoff_seconds=0
    )
    with ExitStack() as stack:
        started = [
            stack.enter_context(
                running_service(Alerts, SPEC, create, on_postgres, ManualClock(START), config=config)
            )
            for _ in range(2)
        ]
        for event in place_events():
            started[0].feed(event, township_id=event.place_id if event.level == "township" else None)
        yield started[0], started[1]


def test_two_replicas_deliver_every_card_once_and_one_link_acknowledges_once(replicas: tuple[Alerts, Alerts]):
    first, second = replicas
    with serving(FakeDingTalk(), "/robot/send") as robot:
        configure(first, {"ds-dingtalk": dingtalk_body(robot)})  # type: ignore[arg-type]
        incidents = [
            first.report("dongshan", village_id=None, address=f"第{n}处", place_kind="restaurant")
            for n in range(6)
        ]
        incidents += [
            first.report("xishui", village_id=None, township_id=XISHUI, address=f"第{n}处") for n in range(6)
        ]
        assert len({incident["id"] for incident in incidents}) == 12
        robot.script = [503] * 6  # some first tries fail: retried in place, never twice delivered
        start = threading.Barrier(2)

        def drain(replica: Alerts) -> int:
            start.wait()
            delivered = 0
            for _ in range(20):
                run = replica.deliver()
                delivered += run.delivered
                if run.delivered + run.failed == 0:
                    break
            return delivered

        with ThreadPoolExecutor(2) as pool:
            counts = list(pool.map(drain, (first, second)))
        assert sum(counts) == 12
        received = robot.received  # type: ignore[attr-defined]
        assert len(received) == 12 and robot.refusals == []
        refs = sorted(
            re.search(r"/ack/([0-9a-f]{8})/", card["markdown"]["text"]).group(1) for card in received
        )
        assert refs == sorted(incident["id"][:8] for incident in incidents)

    path = re.search(r"\((http://[^)]+)\)", received[0]["markdown"]["text"]).group(1).split("127.0.0.1")[1]
    path = path[path.index("/ack/") :]
    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(lambda n: (first, second)[n % 2].client.post(path).status_code, range(8)))
    assert codes.count(200) == 1 and set(codes) <= {200, 409, 410}, codes
    assert len(first.events("alert.acknowledged")) == 1
