"""Benchmark: from `POST /incidents` to the `alert.escalated` event on Redis, and to the DingTalk
group robot receiving the card, for an escalation that happens at once (a level II school incident
notifies the township and the county at once), beside a raw redis-py XADD -> XREADGROUP round trip
and a raw signed POST to the same robot, measured in the same run under the same background load.

The robot is the local fake of DingTalk's API the tests use (tests/support/providers.py), which
checks each card's signature as DingTalk does; the county configures it through the API and the
chain names it in both steps, so each incident sends two cards (township, county).

    python bench/alerts_escalation.py             # 1,000 incidents, 200 background events/s
    python bench/alerts_escalation.py --quick     # 100 incidents, a smoke run
    python bench/alerts_escalation.py --incidents 2000 --load 500

The alerts service runs as its own process (`python -m services.alerts`, SQLite under a temporary
directory) against a private redis-server started here; a background thread publishes registry and
inspection events that the service consumes (business updates and passed inspections) at `--load`
events/s throughout. Incidents are sent one after the other: each delay is the whole path of one
report (HTTP, one transaction with the outbox row, relay wake-up, XADD) without queueing behind
the previous report.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/alerts_escalation.py` from a checkout
    sys.path.insert(0, str(REPO_ROOT))

COUNTY = "bench"
TOWNSHIP = "bench.t1"


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return cut[49] * 1000, cut[98] * 1000, ordered[-1] * 1000


def settings_for(var_dir: Path, redis_url: str) -> Any:
    from shared.settings import Settings

    return Settings(
        env="test",
        var_dir=var_dir,
        redis_url=redis_url,
        stream_prefix="bench",
        secret_key="bench-" + "k" * 40,
        relay_poll_seconds=0.1,
        block_ms=200,
    )


def envelopes(payloads: list[Any]) -> list[Any]:
    """The bench county's events, as the registry and inspection would send them."""
    from shared.events import Envelope

    return [
        Envelope.wrap(payload, county_id=COUNTY, township_id=TOWNSHIP, actor="system:bench")
        for payload in payloads
    ]


def background_load(settings: Any, rate: float, stop: threading.Event, sent: list[int]) -> None:
    """Registry and inspection events the alerts service consumes, at `rate` events/s."""
    from shared.bus import publish
    from shared.catalogue.inspection import InspectionCompleted
    from shared.catalogue.registry import BusinessUpdated

    business_ids = [uuid.uuid4() for _ in range(50)]
    batch = max(1, int(rate / 10))
    loop = asyncio.new_event_loop()
    number = 0
    try:
        while not stop.is_set():
            started = time.perf_counter()
            updates, inspections = [], []
            for _ in range(batch):
                business = business_ids[number % len(business_ids)]
                number += 1
                if number % 2:
                    updates.append(
                        BusinessUpdated(
                            business_id=business,
                            name=f"店{number}",
                            kind="catering",
                            risk_level="B",
                            status="active",
                        )
                    )
                else:
                    inspections.append(
                        InspectionCompleted(
                            inspection_id=uuid.uuid4(),
                            business_id=business,
                            kind="routine",
                            inspected_on=date(2026, 3, 2),
                            outcome="compliant",
                            action="pass",
                            score=95.0,
                            inspector="inspector:bench",
                        )
                    )
            loop.run_until_complete(publish(settings, envelopes(updates), producer="registry"))
            loop.run_until_complete(publish(settings, envelopes(inspections), producer="inspection"))
            sent[0] += batch
            stop.wait(max(0.0, 0.1 - (time.perf_counter() - started)))
    finally:
        loop.close()


def raw_round_trips(redis_url: str, count: int) -> list[float]:
    """XADD one entry, XREADGROUP it, XACK: the floor any delivery over Redis pays."""
    import redis

    client = redis.Redis.from_url(redis_url)
    stream = f"bench.raw.{uuid.uuid4().hex[:6]}"
    client.xgroup_create(stream, "raw", id="0", mkstream=True)
    body = os.urandom(300)
    samples = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            client.xadd(stream, {b"__data__": body})
            entries = client.xreadgroup("raw", "c1", {stream: ">"}, count=1, block=2000)
            entry_id = entries[0][1][0][0]
            client.xack(stream, "raw", entry_id)
            samples.append(time.perf_counter() - started)
    finally:
        client.delete(stream)
        client.close()
    return samples


class EscalationWatcher(threading.Thread):
    """Reads the alerts stream and notes when each incident's at-once county escalation arrives."""

    def __init__(self, redis_url: str, stream: str) -> None:
        super().__init__(daemon=True)
        import redis

        self.client = redis.Redis.from_url(redis_url)
        self.stream = stream
        self.arrived: dict[str, float] = {}
        self.condition = threading.Condition()
        self.stop = threading.Event()
        self.last_id = "$"

    def run(self) -> None:
        from shared.bus import decode_entry

        while not self.stop.is_set():
            found = self.client.xread({self.stream: self.last_id}, count=500, block=200)
            now = time.perf_counter()
            for _stream, entries in found or []:
                for entry_id, fields in entries:
                    self.last_id = entry_id
                    envelope = decode_entry(fields)
                    if envelope.type == "alert.escalated" and envelope.payload.get("tier") == "county":
                        with self.condition:
                            self.arrived[envelope.payload["incident_id"]] = now
                            self.condition.notify_all()

    def wait_for(self, incident_id: str, timeout: float = 15.0) -> float:
        with self.condition:
            if not self.condition.wait_for(lambda: incident_id in self.arrived, timeout=timeout):
                raise TimeoutError(f"no escalation for {incident_id} within {timeout}s")
            return self.arrived[incident_id]


class RobotWatcher:
    """Notes when the fake robot receives each incident's cards (the link names the incident)."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.seen = 0
        self.cards: dict[str, list[float]] = {}

    def wait_for(self, incident_id: str, cards: int, timeout: float = 15.0) -> list[float]:
        deadline = time.monotonic() + timeout
        while True:
            self._collect()
            if len(self.cards.get(incident_id[:8], ())) >= cards:
                return self.cards[incident_id[:8]]
            if time.monotonic() > deadline:
                raise TimeoutError(f"the robot did not get {cards} cards for {incident_id} within {timeout}s")
            self.fake.seen.wait(0.05)
            self.fake.seen.clear()

    def _collect(self) -> None:
        received, arrivals = self.fake.received, self.fake.arrivals
        while self.seen < min(len(received), len(arrivals)):
            text = received[self.seen]["markdown"]["text"]
            found = re.search(r"/ack/([0-9a-f]{8})/", text)
            if found:
                self.cards.setdefault(found.group(1), []).append(arrivals[self.seen])
            self.seen += 1


def raw_robot_round_trips(fake: Any, count: int) -> list[float]:
    """A signed markdown POST to the same robot with httpx, and its answer: the floor of any
    delivery to it."""
    import base64
    import hashlib
    import hmac
    import json
    import urllib.parse

    import httpx

    samples = []
    card = {
        "msgtype": "markdown",
        "markdown": {"title": "【食安】基准", "text": "### 【食安】基准"},
        "at": {},
    }
    body = json.dumps(card, ensure_ascii=False).encode()
    with httpx.Client(timeout=5) as client:
        for _ in range(count):
            started = time.perf_counter()
            timestamp = int(time.time() * 1000)
            mac = hmac.new(
                fake.secret.encode(), f"{timestamp}\n{fake.secret}".encode(), hashlib.sha256
            ).digest()
            sign = urllib.parse.quote_plus(base64.b64encode(mac))
            url = f"{fake.url}?access_token={fake.access_token}&timestamp={timestamp}&sign={sign}"
            answer = client.post(url, content=body, headers={"Content-Type": "application/json"})
            assert answer.json()["errcode"] == 0, answer.text
            samples.append(time.perf_counter() - started)
    fake.received.clear()
    fake.arrivals.clear()
    return samples


def configure_robot(client: Any, fake: Any) -> None:
    """The bench county's DingTalk robot, named in both steps of its chain."""
    robot = {"kind": "dingtalk", "url": fake.url, "access_token": fake.access_token, "secret": fake.secret}
    client.put("/notification-channels/bench-robot", json=robot).raise_for_status()
    steps = [
        {
            "name": "乡镇食安办",
            "tier": "township",
            "channels": ["bench-robot"],
            "targets": [{"ref": "role:township_office"}, {"ref": "phone:+8613800000001"}],
        },
        {
            "name": "县食安办",
            "tier": "county",
            "channels": ["bench-robot"],
            "targets": [{"ref": "role:county_office"}, {"ref": "phone:+8613900000002"}],
        },
    ]
    client.put(f"/escalation/policies/{COUNTY}", json={"steps": steps}).raise_for_status()


def start_alerts(settings: Any, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SHIAN_")}
    for name, value in settings.model_dump(exclude_none=True).items():
        env[f"SHIAN_{name.upper()}"] = str(value)
    env.update(
        SHIAN_ALERTS_PORT=str(port),
        SHIAN_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
    )
    log = open(workdir / "alerts.log", "ab")  # noqa: SIM115  (kept open for the child's life)
    return subprocess.Popen(
        [sys.executable, "-m", "services.alerts"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--load", type=float, default=200.0, help="background events per second")
    parser.add_argument("--quick", action="store_true", help="100 incidents")
    args = parser.parse_args()
    count = 100 if args.quick else args.incidents

    import httpx

    from shared.auth import Role, issue_token
    from shared.bus import publish
    from shared.catalogue.registry import PlaceDefined
    from shared.localredis import start_local_redis
    from tests.support.providers import FakeDingTalk, serving

    workdir = Path(tempfile.mkdtemp(prefix="shian-bench-alerts-"))
    robot_server = serving(FakeDingTalk(), "/robot/send")
    robot = robot_server.__enter__()
    cards = RobotWatcher(robot)
    redis_handle = start_local_redis(workdir / "redis")
    settings = settings_for(workdir / "var", redis_handle.url)
    process: subprocess.Popen[bytes] | None = None
    stop_load = threading.Event()
    load_sent = [0]
    watcher = EscalationWatcher(redis_handle.url, settings.stream("alerts"))
    try:
        asyncio.run(
            publish(
                settings,
                envelopes(
                    [
                        PlaceDefined(place_id=COUNTY, level="county", name="县"),
                        PlaceDefined(place_id=TOWNSHIP, level="township", name="镇", parent_id=COUNTY),
                    ]
                ),
                producer="registry",
            )
        )
        port = 18000 + os.getpid() % 1000
        process = start_alerts(settings, workdir, port)
        url = f"http://127.0.0.1:{port}"

        def known() -> bool:
            try:
                with sqlite3.connect(f"file:{workdir / 'var' / 'alerts.db'}?mode=ro", uri=True) as connection:
                    return bool(
                        connection.execute(
                            "SELECT 1 FROM place_directory WHERE place_id = ?", (TOWNSHIP,)
                        ).fetchall()
                    )
            except sqlite3.Error:
                return False

        wait(known, 60, "the alerts service to start and learn the township")
        load = threading.Thread(
            target=background_load, args=(settings, args.load, stop_load, load_sent), daemon=True
        )
        load.start()
        watcher.start()
        time.sleep(1.0)  # let the load settle in

        raw = raw_round_trips(redis_handle.url, count)
        raw_robot = raw_robot_round_trips(robot, count)
        token = issue_token(
            settings, subject="bench", role=Role.township, county_id=COUNTY, township_id=TOWNSHIP
        )
        county_token = issue_token(settings, subject="bench-county", role=Role.county, county_id=COUNTY)
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {county_token}"}, timeout=10
        ) as office:
            configure_robot(office, robot)
        body = {
            "township_id": TOWNSHIP,
            "ill_count": 50,
            "place_kind": "school",
            "description": "学校食堂集体腹泻",
        }
        delays, posts, first_cards, both_cards = [], [], [], []
        load_started, load_at_start = time.perf_counter(), load_sent[0]
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            for _ in range(count):
                started = time.perf_counter()
                response = client.post("/incidents", json=body)
                answered = time.perf_counter()
                response.raise_for_status()
                incident_id = response.json()["id"]
                arrived = watcher.wait_for(incident_id)
                at_robot = cards.wait_for(incident_id, 2)
                delays.append(arrived - started)
                posts.append(answered - started)
                first_cards.append(min(at_robot) - started)
                both_cards.append(max(at_robot) - started)
        load_rate = (load_sent[0] - load_at_start) / (time.perf_counter() - load_started)

        print(f"alerts escalation: {count} level II incidents, background load {load_rate:.0f} events/s")
        print(f"{'measure':<52}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
        for name, samples in (
            ("raw redis-py XADD -> XREADGROUP -> XACK", raw),
            ("raw signed POST to the DingTalk robot, answered", raw_robot),
            ("POST /incidents answered", posts),
            ("POST /incidents -> alert.escalated on Redis", delays),
            ("POST /incidents -> first card at the DingTalk robot", first_cards),
            ("POST /incidents -> both cards at the DingTalk robot", both_cards),
        ):
            p50, p99, worst = percentiles(samples)
            print(f"{name:<52}{p50:>10.2f}{p99:>10.2f}{worst:>10.2f}")
        raw_p50 = percentiles(raw)[0]
        print(f"escalation p50 is {percentiles(delays)[0] / raw_p50:.1f}x the raw Redis round trip p50")
        print(
            f"first card p50 is {percentiles(first_cards)[0] / percentiles(raw_robot)[0]:.1f}x "
            "the raw robot round trip p50"
        )
        if robot.refusals:
            print(f"the robot refused {len(robot.refusals)} requests: {sorted(set(robot.refusals))}")
    finally:
        stop_load.set()
        watcher.stop.set()
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        redis_handle.stop()
        robot_server.__exit__(None, None, None)


if __name__ == "__main__":
    main()
