"""Launching `tests.support.consumer_proc` and reading what it did, for delivery tests.

Every process is started in its own session and stopped by its PID; `ProbeConsumer.close()`
kills whatever is still running, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from shared.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_until(
    check: Callable[[], T], *, timeout: float, what: str, detail: Callable[[], str] | None = None
) -> T:
    """Poll `check` until it returns something true; fail with `what` (and `detail()`) on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(0.02)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process build the same Settings (and nothing else)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SHIAN_")}
    for name, value in settings.model_dump(exclude_none=True).items():
        env[f"SHIAN_{name.upper()}"] = str(value)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class ProbeConsumer:
    """One run of the probe consumer process; several runs may share a database (a restart)."""

    settings: Settings
    workdir: Path
    name: str
    producer: str = "registry"
    group: str = "probe"
    delay: float = 0.0
    fail_file: Path | None = None
    hang_after: int = 0
    mark_at: int = 0
    park: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def db_path(self) -> Path:
        return self.workdir / "probe.db"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def ready_path(self) -> Path:
        return self.workdir / f"{self.name}.ready"

    @property
    def marker_path(self) -> Path:
        return self.workdir / f"{self.name}.marker"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> ProbeConsumer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = settings_env(self.settings)
        env.update(
            PROBE_DB=str(self.db_path),
            PROBE_STREAM=self.producer,
            PROBE_GROUP=self.group,
            PROBE_DELAY=str(self.delay),
            PROBE_READY=str(self.ready_path),
            PROBE_HANG_AFTER=str(self.hang_after),
            PROBE_MARK_AT=str(self.mark_at),
            PROBE_HANG_MARKER=str(self.marker_path),
            PROBE_PARK="1" if self.park else "0",
        )
        if self.fail_file is not None:
            env["PROBE_FAIL_FILE"] = str(self.fail_file)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.consumer_proc"],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 30.0) -> str:
        """The consumer's name, once its group exists and it reads."""
        wait_until(
            lambda: self.ready_path.exists() or self.exited(),
            timeout=timeout,
            what=f"{self.name} to start",
            detail=self.log,
        )
        if self.exited():
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")  # type: ignore[union-attr]
        return self.ready_path.read_text()

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait: the graceful stop of a deployment."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to ack or clean up."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log(self) -> str:
        try:
            return f"--- {self.name} log ---\n" + self.log_path.read_text(errors="replace")[-8000:]
        except FileNotFoundError:
            return f"--- {self.name}: no log ---"


def query(db_path: Path, sql: str) -> list[tuple]:
    """Rows from the probe's SQLite database; nothing if it does not exist yet."""
    if not db_path.exists():
        return []
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return connection.execute(sql).fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return []
        raise
    finally:
        connection.close()


def applied_counts(db_path: Path) -> dict[str, int]:
    """event_id -> how many times its effect was written (must never exceed 1)."""
    return dict(query(db_path, "SELECT event_id, count(*) FROM effects GROUP BY event_id"))


def inbox_ids(db_path: Path) -> set[str]:
    return {row[0] for row in query(db_path, "SELECT event_id FROM inbox")}
