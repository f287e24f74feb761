"""The service as a real process, killed before a deadline and restarted after it: the escalation
happens once, at the restarted service's first tick; killed while a notification waits for its
next try, the restarted service sends it once.

The process's clock is put ahead with SHIAN_CLOCK_OFFSET_SECONDS (a test aid the service refuses
in production), so two hours pass between the kill and the restart without waiting for them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared.auth import Role, issue_token
from shared.bus import publish
from shared.events import Envelope
from shared.settings import Settings
from tests.support.alerts import incident_body
from tests.support.county import COUNTY, DONGSHAN, place_events
from tests.support.processes import REPO_ROOT, query, settings_env, wait_until
from tests.support.providers import FakeDingTalk, serving

TICK = 0.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AlertsProcess:
    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.offset = 0.0
        self.runs = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return Path(self.settings.var_dir) / "alerts.db"

    def clock(self) -> datetime:
        """The process's clock, read from here."""
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def start(self, offset: float) -> datetime:
        """Start with the clock `offset` seconds ahead; returns the service clock once it answers."""
        self.offset = offset
        self.runs += 1
        env = settings_env(self.settings)
        env.update(
            SHIAN_ALERTS_PORT=str(self.port),
            SHIAN_ALERTS_TICK_SECONDS=str(TICK),
            SHIAN_ALERTS_NOTIFY_SECONDS=str(TICK),
            SHIAN_CLOCK_OFFSET_SECONDS=str(offset),
        )
        with open(self.workdir / f"alerts-{self.runs}.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.alerts"],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        wait_until(self.answers, timeout=30, what="the alerts process to answer", detail=self.log)
        return self.clock()

    def answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"alerts exited with {self.process.returncode}\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def log(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-4000:] for path in sorted(self.workdir.glob("alerts-*.log"))
        )

    def escalations(self, tier: str) -> list[datetime]:
        rows = query(self.db, "SELECT at, detail FROM incident_timeline WHERE kind = 'escalated' ORDER BY id")
        return [
            datetime.fromisoformat(at).replace(tzinfo=UTC)
            for at, detail in rows
            if json.loads(detail)["tier"] == tier
        ]


@pytest.fixture
def service(settings: Settings, tmp_path: Path) -> Iterator[AlertsProcess]:
    envelopes = [
        Envelope.wrap(event, county_id=COUNTY, township_id=None, actor="system:registry")
        for event in place_events()
    ]
    asyncio.run(publish(settings, envelopes, "registry"))
    process = AlertsProcess(settings, tmp_path)
    try:
        yield process
    finally:
        process.close()


def test_killed_before_the_deadline_and_restarted_after_it_escalates_once(
    service: AlertsProcess, settings: Settings
):
    service.start(offset=0)
    wait_until(
        lambda: query(service.db, f"SELECT 1 FROM place_directory WHERE place_id = '{DONGSHAN}'"),
        timeout=20,
        what="the places to arrive from the registry stream",
        detail=service.log,
    )
    token = issue_token(
        settings, subject="ds-office", role=Role.township, county_id=COUNTY, township_id=DONGSHAN
    )
    body = incident_body(village_id=None, onset_at=None)
    response = httpx.post(f"{service.url}/incidents", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    incident = response.json()
    deadline = datetime.fromisoformat(incident["reported_at"]) + timedelta(hours=2)
    assert incident["level"] == "IV" and len(service.escalations("township")) == 1
    service.kill()
    assert service.escalations("county") == []

    # two hours and a second later, as the service sees it
    ready = service.start(offset=2 * 3600 + 1)
    wait_until(
        lambda: service.escalations("county"), timeout=10, what="the county escalation", detail=service.log
    )
    (escalated_at,) = service.escalations("county")
    assert deadline <= escalated_at <= ready + timedelta(seconds=TICK)
    (fired_at, due_at) = query(
        service.db, "SELECT fired_at, due_at FROM escalation_timers WHERE kind = 'ack_deadline' AND step = 1"
    )[0]
    assert datetime.fromisoformat(fired_at).replace(tzinfo=UTC) == escalated_at
    assert datetime.fromisoformat(due_at).replace(tzinfo=UTC) == deadline
    wait_until(
        lambda: (
            query(
                service.db,
                "SELECT 1 FROM outbox WHERE event_type = 'alert.escalated' AND published_at IS NULL",
            )
            == []
        ),
        timeout=10,
        what="the escalation to be published",
        detail=service.log,
    )

    # a second crash and restart, a minute on: nothing is repeated
    service.kill()
    service.start(offset=2 * 3600 + 60)
    ticks_later = service.clock() + timedelta(seconds=3 * TICK)
    wait_until(lambda: service.clock() >= ticks_later, timeout=5, what="three ticks")
    assert len(service.escalations("county")) == 1
    assert len(service.escalations("township")) == 1


def test_a_card_the_robot_refused_is_sent_after_a_kill_and_restart_once(
    service: AlertsProcess, settings: Settings
):
    """The retry schedule is in the database: killed while a DingTalk card waits for its next try,
    the restarted process sends it at that time, once, and stops retrying."""
    with serving(FakeDingTalk(), "/robot/send") as robot:
        robot.script = [503] * 8  # the robot's gateway is down for the first run's tries
        service.start(offset=0)
        wait_until(
            lambda: query(service.db, f"SELECT 1 FROM place_directory WHERE place_id = '{DONGSHAN}'"),
            timeout=20,
            what="the places to arrive from the registry stream",
            detail=service.log,
        )
        office = issue_token(settings, subject="county-office", role=Role.county, county_id=COUNTY)
        county = {"Authorization": f"Bearer {office}"}
        body = {
            "kind": "dingtalk",
            "url": robot.url,
            "access_token": robot.access_token,
            "secret": robot.secret,
        }
        assert (
            httpx.put(f"{service.url}/notification-channels/ds-robot", json=body, headers=county).status_code
            == 200
        )
        steps = [
            {
                "name": "乡镇食安办",
                "tier": "township",
                "targets": [{"ref": "role:township_office"}],
                "channels": ["ds-robot"],
            }
        ]
        policy = httpx.put(
            f"{service.url}/escalation/policies/{COUNTY}", json={"steps": steps}, headers=county
        )
        assert policy.status_code == 200
        token = issue_token(
            settings, subject="ds-office", role=Role.township, county_id=COUNTY, township_id=DONGSHAN
        )
        body = incident_body(village_id=None, onset_at=None)
        reported = httpx.post(
            f"{service.url}/incidents", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert reported.status_code == 201, reported.text

        def pending() -> list:
            return query(
                service.db, "SELECT rounds, next_attempt_at FROM notifications WHERE status = 'pending'"
            )

        wait_until(
            lambda: pending() and pending()[0][0] >= 1, timeout=10, what="a failed round", detail=service.log
        )
        service.kill()
        assert robot.received == []
        robot.script = []
        service.start(offset=60)  # a minute later: the retry (30 s after the failure) is due
        wait_until(lambda: robot.received, timeout=10, what="the card after the restart", detail=service.log)
        wait_until(
            lambda: query(service.db, "SELECT status FROM notifications") == [("delivered",)],
            timeout=10,
            what="the notification to be recorded delivered",
            detail=service.log,
        )
        later = service.clock() + timedelta(seconds=3 * TICK)
        wait_until(lambda: service.clock() >= later, timeout=5, what="three more polls")
        assert len(robot.received) == 1 and robot.refusals == []
        assert "Ⅳ级（一般）" in robot.received[0]["markdown"]["title"]
