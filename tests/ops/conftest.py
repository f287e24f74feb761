"""A running system for the operations tests: the four services as processes on the test Redis
(tests/support/system.py), started once and driven through the paths that make their metrics
appear (a business registered, an incident reported, an unreadable entry dead-lettered)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from shared.localredis import free_port
from shared.settings import DATA_SERVICES, SERVICE_NAMES
from shian.launcher import System
from tests.support.system import (
    RunningSystem,
    drive_traffic,
    eventually,
    service_env,
    start_or_fail,
    unsettled,
)

SECRET = "ops-secret-key-" + "0123456789abcdef" * 2


def log_tails(system: System) -> str:
    return "\n".join(f"--- {name} ---\n{system.log_tail(name)}" for name in system.processes)


@pytest.fixture(scope="session")
def running(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    var_dir = tmp_path_factory.mktemp("ops") / "var"
    env = service_env(var_dir, f"ops{uuid.uuid4().hex[:10]}", SECRET)
    system = System(
        var_dir=var_dir,
        redis_url=redis_url,
        ports={name: free_port() for name in SERVICE_NAMES},
        env=env,
    )
    try:
        start_or_fail(system, log_tails)
        traffic = drive_traffic(system)
        client = redis.Redis.from_url(redis_url, socket_timeout=5)
        try:
            streams = [system.settings.stream(name) for name in DATA_SERVICES]
            behind: list[str] = []

            def caught_up() -> bool:
                behind[:] = unsettled(client, streams)
                return not behind

            try:
                eventually(caught_up, "every group to catch up")
            except AssertionError as error:
                raise AssertionError(f"{error}: {'; '.join(behind)}") from None
            eventually(
                lambda: client.xlen(system.settings.deadletter_stream) >= 3,
                "the unreadable entry to be dead-lettered by the groups reading the registry",
            )
        finally:
            client.close()
        yield RunningSystem(system=system, env=env, traffic=traffic)
    finally:
        system.stop()
