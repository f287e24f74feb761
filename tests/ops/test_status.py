"""`shian status` against the running system: what it prints is what Redis and the services say.

It is run as an operator runs it, in its own process with only SHIAN_VAR_DIR set: it finds the
running system (Redis, stream prefix, service URLs) through the launcher's state file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from shared.localredis import free_port
from shared.settings import DATA_SERVICES, SERVICE_NAMES
from tests.support.system import REPO, RunningSystem, eventually

pytestmark = pytest.mark.e2e

PROBE_GROUP = "opsprobe"
PROBE_CONSUMER = "opsprobe-reader-1"


def status_env(running: RunningSystem) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SHIAN_")}
    env.update(SHIAN_ENV="test", SHIAN_VAR_DIR=str(running.system.var_dir), COLUMNS="250", NO_COLOR="1")
    return env


def shian_status(running: RunningSystem, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "shian.cli", "status", *args],
        cwd=REPO,
        env=status_env(running),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"shian status failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def tables(text: str) -> dict[str, list[list[str]]]:
    """Rich's tables in the text, by title: the cells of every body row (header rows left out)."""
    found: dict[str, list[list[str]]] = {}
    title = ""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if following.startswith("┏") and not line.startswith(("│", "┃", "└", "┏")):
            title = line.strip()
            found[title] = []
        elif line.startswith("│"):
            found[title].append([cell.strip() for cell in line.strip("│").split("│")])
    return found


def table(text: str, prefix: str) -> list[list[str]]:
    matches = [rows for title, rows in tables(text).items() if title.startswith(prefix)]
    assert len(matches) == 1, f"no single table titled {prefix!r} in:\n{text}"
    return matches[0]


@pytest.fixture
def probe_group(running: RunningSystem):
    """A group that read one entry of the registry stream and never acknowledged it."""
    client = running.redis()
    stream = running.settings.stream("registry")
    client.xgroup_create(stream, PROBE_GROUP, id="0")
    client.xreadgroup(PROBE_GROUP, PROBE_CONSUMER, {stream: ">"}, count=1)
    try:
        yield client
    finally:
        client.xgroup_destroy(stream, PROBE_GROUP)
        client.close()


def test_status_shows_every_stream_group_consumer_service_and_dead_letter(
    running: RunningSystem, probe_group: redis.Redis
) -> None:
    client = probe_group
    settings = running.settings
    text = shian_status(running)

    # every stream with its length, and every group on it with its lag, pending and consumers
    streams = table(text, "Streams and consumer groups")
    current = ""
    shown: dict[tuple[str, str], list[str]] = {}
    lengths: dict[str, str] = {}
    for stream, length, group, lag, pending, consumers in streams:
        if stream:
            current = stream
            lengths[stream] = length
        shown[(current, group)] = [lag, pending, consumers]
    for producer in ("registry", "inspection", "alerts"):
        stream = settings.stream(producer)
        assert lengths[stream] == str(client.xlen(stream)), stream
        groups = client.xinfo_groups(stream)
        assert {name.decode() for name in (g["name"] for g in groups)} <= {g for s, g in shown if s == stream}
        for group in groups:
            name = group["name"].decode()
            consumers = client.xinfo_consumers(stream, name)
            lag = str(client.xlen(stream) - 1) if name == PROBE_GROUP else "0"
            assert shown[(stream, name)] == [lag, str(group["pending"]), str(len(consumers))], (stream, name)
    assert shown[(settings.stream("registry"), PROBE_GROUP)][1:] == ["1", "1"]
    # reporting publishes nothing yet: its stream does not exist, and status says so
    assert lengths[settings.stream("reporting")] == "-"

    # every consumer of every group, with its own pending count
    consumers = {(row[1], row[2]): row[3:] for row in table(text, "Consumers")}
    for producer in ("registry", "inspection", "alerts"):
        stream = settings.stream(producer)
        for group in client.xinfo_groups(stream):
            for consumer in client.xinfo_consumers(stream, group["name"]):
                pending, idle = consumers[(group["name"].decode(), consumer["name"].decode())]
                assert pending == str(consumer["pending"])
                assert idle.endswith(("ms", "s", "m", "h"))
    assert consumers[(PROBE_GROUP, PROBE_CONSUMER)][0] == "1"

    # every service ready, with its outbox drained
    services = {row[0]: row for row in table(text, "Services")}
    assert set(services) == set(SERVICE_NAMES)
    for name, row in services.items():
        assert row[1] == running.system.urls[name]
        # the web process has no outbox: its backlog is not measured
        assert row[2:4] == (["ready", "0"] if name in DATA_SERVICES else ["ready", "?"]), row

    # the unreadable entry, dead-lettered once by each of the four groups reading the registry
    total = client.xlen(settings.deadletter_stream)
    dead = table(text, f"Dead letters on {settings.deadletter_stream}: {total}")
    assert sorted(dead) == [
        [settings.stream("registry"), group, "1"]
        for group in ("alerts", "identity", "inspection", "reporting")
    ]


def test_status_json_holds_the_same_figures_and_names_a_service_that_does_not_answer(
    running: RunningSystem,
) -> None:
    settings = running.settings
    nobody = f"http://127.0.0.1:{free_port()}"
    snapshot = json.loads(shian_status(running, "--json", "--url", f"reporting={nobody}"))

    client = running.redis()
    try:
        for stream in snapshot["streams"]:
            if not stream["exists"]:
                assert not client.exists(stream["name"])
                continue
            assert stream["length"] == client.xlen(stream["name"])
            expected = {g["name"].decode(): g["pending"] for g in client.xinfo_groups(stream["name"])}
            assert {g["name"]: g["pending"] for g in stream["groups"]} == expected
        assert snapshot["deadletters"] == client.xlen(settings.deadletter_stream) >= 3
    finally:
        client.close()
    services = {service["name"]: service for service in snapshot["services"]}
    assert services["reporting"]["url"] == nobody
    assert services["reporting"]["ready"] is False
    assert services["reporting"]["readiness"].startswith("unreachable")
    assert services["reporting"]["outbox_backlog"] is None
    assert services["alerts"]["ready"] is True and services["alerts"]["outbox_backlog"] == 0
    assert services["alerts"]["events_parked"] == 0
    assert services["reporting"]["events_parked"] is None


def test_status_watch_refreshes_until_interrupted(running: RunningSystem, tmp_path: Path) -> None:
    out = tmp_path / "watch.jsonl"
    with open(out, "w") as sink:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "shian.cli", "status", "--watch", "--interval", "0.3", "--json"],
            cwd=REPO,
            env=status_env(running),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def frames() -> list[str]:
            assert watcher.poll() is None, out.read_text()
            return [line for line in out.read_text().splitlines() if line.startswith("{")]

        eventually(lambda: len(frames()) >= 3, "three refreshes of `shian status --watch`")
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=15) == 0, out.read_text()
    finally:
        if watcher.poll() is None:
            os.kill(watcher.pid, signal.SIGKILL)
            watcher.wait(timeout=10)
    taken = [json.loads(line)["taken_at"] for line in out.read_text().splitlines() if line.startswith("{")]
    assert taken == sorted(taken) and len(set(taken)) == len(taken)
    assert "Traceback" not in out.read_text()
