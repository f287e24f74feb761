"""The Redis that `shian up` starts keeps its streams across a stop and start, on the same port,
and dies with the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import redis

from shared.localredis import reachable, start_local_redis

pytestmark = pytest.mark.integration


def test_a_persistent_local_redis_keeps_unconsumed_events_across_a_restart(tmp_path):
    first = start_local_redis(tmp_path / "redis", persist=True)
    try:
        client = redis.Redis.from_url(first.url)
        client.xgroup_create("shian.alerts", "reporting", id="0", mkstream=True)
        client.xadd("shian.alerts", {"__data__": b"incident"})
        client.close()
    finally:
        first.stop()
    assert not reachable(first.url)

    second = start_local_redis(tmp_path / "redis", persist=True)
    try:
        assert second.port == first.port
        client = redis.Redis.from_url(second.url)
        entries = client.xreadgroup("reporting", "c1", {"shian.alerts": ">"})
        client.close()
        assert [fields for _id, fields in entries[0][1]] == [{b"__data__": b"incident"}]
    finally:
        second.stop()


def test_a_throwaway_local_redis_starts_empty(tmp_path):
    first = start_local_redis(tmp_path / "redis")
    try:
        redis.Redis.from_url(first.url).xadd("s", {"a": "1"})
    finally:
        first.stop()
    first.start()
    try:
        assert redis.Redis.from_url(first.url).exists("s") == 0
    finally:
        first.stop()


def test_the_local_redis_dies_with_the_process_that_started_it(tmp_path):
    program = (
        "import sys, time, pathlib\n"
        "from shared.localredis import start_local_redis\n"
        f"handle = start_local_redis(pathlib.Path({str(tmp_path / 'r')!r}))\n"
        "print(handle.url, handle.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True)
    try:
        url, pid = parent.stdout.readline().split()
        assert reachable(url)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while reachable(url) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not reachable(url)
        with pytest.raises(ProcessLookupError):
            for _ in range(100):
                os.kill(int(pid), 0)
                time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()
