"""Scaling a consumer out by replicas: two processes of one service read as one consumer group.

Two `python -m services.reporting` processes share one database (a SQLite file in WAL mode, or a
PostgreSQL database when one is given) and one consumer group on the registry's stream. Events
published in bursts are split between them, and each is applied exactly once: each replica's own
/metrics tells how many it applied, the two add up to what was published, no replica saw a
duplicate, and the shared inbox (written in the same transaction as each event's effect) holds each
event once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from shared.bus import publish
from shared.catalogue.registry import BusinessRegistered
from shared.events import Envelope
from shared.localredis import free_port
from shared.migrations import upgrade
from shared.settings import Settings
from tests.support.processes import settings_env
from tests.support.system import REPO, eventually

pytestmark = pytest.mark.integration

SERVICE = "reporting"
BURSTS, PER_BURST = 20, 10


@dataclass
class Replica:
    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return f"--- {self.name} ---\n" + self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reporting.db'}"
        return
    server = make_url(request.getfixturevalue("postgres_url")).set(drivername="postgresql+psycopg")
    name = f"shian_scale_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def replicas(settings: Settings, database_url: str, tmp_path: Path) -> Iterator[list[Replica]]:
    from services.reporting.app import SPEC

    upgrade(SPEC.migrations, database_url)  # once, as a deployment's migration job does
    env = settings_env(settings.model_copy(update={"batch_size": 5}))
    env[f"SHIAN_{SERVICE.upper()}_DATABASE_URL"] = database_url
    started: list[Replica] = []
    try:
        for number in (1, 2):
            port = free_port()
            log_path = tmp_path / f"{SERVICE}-{number}.log"
            with open(log_path, "ab") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", f"services.{SERVICE}"],
                    cwd=REPO,
                    env={**env, f"SHIAN_{SERVICE.upper()}_PORT": str(port)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            started.append(Replica(f"{SERVICE}-{number}", port, log_path, process))
        with httpx.Client(timeout=2) as http:
            for replica in started:

                def ready(replica: Replica = replica) -> bool:
                    assert replica.process.poll() is None, replica.log()
                    with contextlib.suppress(httpx.HTTPError):
                        return http.get(f"{replica.url}/readyz").status_code == 200
                    return False

                eventually(ready, f"{replica.name} to be ready", timeout=60)
        yield started
    finally:
        for replica in started:
            replica.stop()


def businesses(count: int, burst: int) -> list[Envelope]:
    return [
        Envelope.wrap(
            BusinessRegistered(
                business_id=uuid.uuid4(),
                name=f"餐馆{burst}-{number}",
                kind="catering",
                village_id="qingyun.dongshan.shangcun",
                risk_level="B",
                registered_on=dt.date(2025, 3, 1),
            ),
            county_id="qingyun",
            township_id="qingyun.dongshan",
            actor="test",
        )
        for number in range(count)
    ]


def consumed(replica: Replica, stream: str) -> dict[str, float]:
    """This replica's own count of business.registered events from `stream`, by outcome."""
    text = httpx.get(f"{replica.url}/metrics", timeout=10).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "shian_events_consumed_total"
                and sample.labels.get("stream") == stream
                and sample.labels.get("event_type") == BusinessRegistered.TYPE
            ):
                outcome = sample.labels["outcome"]
                counts[outcome] = counts.get(outcome, 0.0) + sample.value
    return counts


def rows(database_url: str, sql: str) -> list[tuple]:
    if database_url.startswith("sqlite:///"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=10)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(sql).all()]
    finally:
        engine.dispose()


def test_two_replicas_share_a_consumer_group_and_apply_each_event_once(
    settings: Settings, replicas: list[Replica], database_url: str
) -> None:
    stream = settings.stream("registry")
    published: list[Envelope] = []
    for burst in range(BURSTS):  # bursts, so that both replicas are waiting for work when one lands
        envelopes = businesses(PER_BURST, burst)
        asyncio.run(publish(settings, envelopes))
        published.extend(envelopes)
        time.sleep(0.05)
    total = len(published)
    expected = {str(envelope.event_id) for envelope in published}

    def inbox() -> set[str]:
        found = rows(database_url, f"SELECT event_id FROM inbox WHERE consumer = '{SERVICE}'")
        return {event_id for (event_id,) in found}

    eventually(lambda: inbox() >= expected, f"the {total} events in the shared inbox", timeout=60)

    by_replica = {replica.name: consumed(replica, stream) for replica in replicas}
    applied = {name: counts.get("applied", 0.0) for name, counts in by_replica.items()}
    assert sum(applied.values()) == total, by_replica
    assert all(count > 0 for count in applied.values()), f"one replica did all the work: {by_replica}"
    assert all(counts.get("duplicate", 0.0) == 0 for counts in by_replica.values()), by_replica
    assert all(counts.get("failed", 0.0) == 0 for counts in by_replica.values()), by_replica

    # the group has two consumers (one per replica), nothing is left pending, each event is in once
    client = redis.Redis.from_url(settings.redis_url)
    try:
        consumers = client.xinfo_consumers(stream, SERVICE)
        group = next(g for g in client.xinfo_groups(stream) if g["name"] == SERVICE.encode())
    finally:
        client.close()
    assert len(consumers) == 2 and all(consumer["pending"] == 0 for consumer in consumers), consumers
    assert group["pending"] == 0
    counted = f"SELECT count(*), count(DISTINCT event_id) FROM inbox WHERE consumer = '{SERVICE}'"
    assert rows(database_url, counted) == [(total, total)]  # written with each effect, in its transaction
