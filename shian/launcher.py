"""The whole system on one machine: a Redis, then the services (five with a database, and the web
pages), each its own process.

`System` is what `shian up` and the end-to-end tests use:

    system = System(var_dir=Path("var"))
    system.start()          # Redis (found or started), migrations, six `python -m services.<name>`
    system.wait_ready()     # until every /readyz answers 200 (or a child dies, or time runs out)
    system.urls             # {"registry": "http://127.0.0.1:8001", ...}
    system.stop()           # SIGTERM, SIGKILL after a grace period; then the Redis it started

Children run in their own sessions (a Ctrl-C in the terminal reaches only the launcher, which stops
them in order) and, on Linux, get SIGTERM from the kernel if the launcher dies without cleaning up.
Their output goes to `<var_dir>/logs/<service>.log`. The var directory is private (0700) and the
children run with umask 077: logs, databases, photos and Redis's files are readable by their owner
only, as they hold personal data and the development signing key.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from shared.localredis import RedisHandle, open_private_log, private_directory, provide_redis
from shared.migrations import upgrade
from shared.settings import DATA_SERVICES, SERVICE_NAMES, Settings

STATE_FILE = "system.json"


class LaunchError(RuntimeError):
    """The system could not start, or a part of it died."""


@dataclass
class ServiceProcess:
    name: str
    port: int
    url: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    ready: bool = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass(frozen=True)
class Death:
    """A part of the system that ended without being asked to."""

    name: str
    returncode: int | None
    log_path: Path | None

    def describe(self) -> str:
        code = self.returncode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return f"{self.name} stopped ({how})"


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """The Settings a child started with this environment reads (init values beat os.environ)."""
    values: dict[str, Any] = {
        key[len("SHIAN_") :].lower(): value
        for key, value in env.items()
        if key.startswith("SHIAN_") and key[len("SHIAN_") :].lower() in Settings.model_fields
    }
    return Settings(**values)


class System:
    """Redis plus the services (all six unless told) as child processes of this one."""

    def __init__(
        self,
        *,
        var_dir: Path | str = "var",
        redis_url: str | None = None,
        ports: Mapping[str, int] | None = None,
        env: Mapping[str, str] | None = None,
        services: Sequence[str] = SERVICE_NAMES,
        python: str = sys.executable,
    ) -> None:
        """
        var_dir: SQLite files, logs, the development signing key, a started Redis's directory.
        redis_url: a Redis to use if it answers; None (or one that does not answer) starts a private one.
        ports: per service; default SHIAN_<SERVICE>_PORT or 8001-8005.
        env: extra environment for the children (SHIAN_* settings), on top of this process's.
        """
        self.var_dir = Path(var_dir).resolve()
        self.configured_redis_url = redis_url
        self.services = tuple(services)
        self.python = python
        unknown = set(self.services) - set(SERVICE_NAMES)
        if unknown:
            raise ValueError(f"unknown services: {', '.join(sorted(unknown))}")
        self.env: dict[str, str] = {**os.environ, **(env or {})}
        self.env["SHIAN_VAR_DIR"] = str(self.var_dir)
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        base = settings_from_env(self.env)
        self.host = base.host
        self.processes: dict[str, ServiceProcess] = {}
        for name in self.services:
            port = int((ports or {}).get(name) or self._env_port(name) or base.port(name))
            self.env[f"SHIAN_{name.upper()}_PORT"] = str(port)
            self.processes[name] = ServiceProcess(
                name=name,
                port=port,
                url=f"http://{_url_host(self.host)}:{port}",
                log_path=self.var_dir / "logs" / f"{name}.log",
            )
        if "identity" in self.processes:  # the others verify identity's tokens with its public keys
            self.env.setdefault("SHIAN_JWKS_URL", f"{self.processes['identity'].url}/.well-known/jwks.json")
        self.redis: RedisHandle | None = None
        self._started = False

    def link_acknowledgements_to_web(self) -> None:
        """Outside production, with no SHIAN_ALERTS_PUBLIC_URL set, alerts' messages carry their
        acknowledgement links on the web app's URL (it relays them to alerts: phones reach the web
        app only). The links' key is then derived from the development signing key under var/
        (services/alerts/config.py); production sets both, its URL https."""
        if "web" not in self.processes or "alerts" not in self.processes:
            return
        if self.settings.env == "production":
            return
        self.env.setdefault("SHIAN_ALERTS_PUBLIC_URL", self.processes["web"].url)

    def _env_port(self, name: str) -> str | None:
        return self.env.get(f"SHIAN_{name.upper()}_PORT")

    # -- facts ------------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The settings the children run with (same signing key, Redis, stream prefix)."""
        return settings_from_env(self.env)

    @property
    def urls(self) -> dict[str, str]:
        return {name: proc.url for name, proc in self.processes.items()}

    @property
    def redis_url(self) -> str | None:
        return self.redis.url if self.redis is not None else None

    @property
    def started_redis(self) -> bool:
        """Whether the Redis in use was started here (and is stopped with the system)."""
        return self.redis is not None and self.redis.process is not None

    @property
    def pids(self) -> dict[str, int]:
        found = {name: proc.pid for name, proc in self.processes.items() if proc.pid is not None}
        if self.redis is not None and self.redis.pid is not None:
            found["redis"] = self.redis.pid
        return found

    def log_tail(self, name: str, lines: int = 30) -> str:
        proc = self.processes.get(name)
        path = proc.log_path if proc is not None else self.var_dir / "redis" / "redis.log"
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- life cycle -------------------------------------------------------------------------

    def start(self, on_step: Callable[[str], None] | None = None) -> None:
        """Redis, migrations, then the service processes (not yet ready: see wait_ready)."""
        step = on_step or (lambda _message: None)
        if self._started:
            raise LaunchError("the system is already started")
        self._started = True
        try:
            private_directory(self.var_dir)
            reap_orphans(self.var_dir)
            self._check_ports()
            step("redis")
            self.redis = provide_redis(self.var_dir / "redis", self.configured_redis_url, persist=True)
            self.env["SHIAN_REDIS_URL"] = self.redis.url
            settings = self.settings
            settings.signing_key()  # create the development key once, before the children race for it
            step("migrations")
            for name in (name for name in self.services if name in DATA_SERVICES):
                upgrade(_spec(name).migrations, self._database_url(name, settings))
            for name in self.services:
                step(name)
                self._spawn(self.processes[name])
            self._write_state()
        except BaseException:
            self.stop()
            raise

    def _check_ports(self) -> None:
        for proc in self.processes.values():
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((self.host, proc.port))
                except OSError as error:
                    raise LaunchError(
                        f"port {proc.port} for {proc.name} on {self.host} is taken ({error.strerror}); "
                        f"stop what uses it or set SHIAN_{proc.name.upper()}_PORT"
                    ) from None

    def _database_url(self, name: str, settings: Settings) -> str:
        return self.env.get(f"SHIAN_{name.upper()}_DATABASE_URL") or (
            f"sqlite:///{(settings.var_dir / f'{name}.db').resolve()}"
        )

    def _spawn(self, proc: ServiceProcess) -> None:
        private_directory(proc.log_path.parent)
        log: IO[bytes] = open_private_log(proc.log_path)
        try:
            proc.process = subprocess.Popen(
                [self.python, "-m", f"services.{proc.name}"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                umask=0o077,  # what the service writes (databases, photos) is its owner's only
                preexec_fn=_die_with_parent() if _can_die_with_parent() else None,
            )
        finally:
            log.close()
        proc.ready = False

    def wait_ready(
        self,
        timeout: float = 120.0,
        on_ready: Callable[[str, float], None] | None = None,
        interval: float = 0.25,
    ) -> None:
        """Until every service's /readyz answers 200; raises if one dies or time runs out."""
        started = time.monotonic()
        deadline = started + timeout
        with httpx.Client(timeout=2.0) as http:
            while True:
                dead = self.deaths()
                if dead:
                    raise LaunchError("; ".join(death.describe() for death in dead))
                waiting = [proc for proc in self.processes.values() if not proc.ready]
                if not waiting:
                    return
                for proc in waiting:
                    try:
                        ok = http.get(f"{proc.url}/readyz").status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    if ok:
                        proc.ready = True
                        if on_ready is not None:
                            on_ready(proc.name, time.monotonic() - started)
                if all(proc.ready for proc in self.processes.values()):
                    return
                if time.monotonic() > deadline:
                    late = ", ".join(proc.name for proc in self.processes.values() if not proc.ready)
                    raise LaunchError(f"not ready after {timeout:.0f}s: {late}")
                time.sleep(interval)

    def kill(self, name: str) -> None:
        """SIGKILL one service, as a crash would (fault campaigns): no chance to clean up."""
        proc = self.processes[name]
        if proc.process is not None and proc.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.process.kill()
            proc.process.wait(timeout=10)
        proc.ready = False

    def restart(self, name: str) -> None:
        """Start a service that ended again, on its port with its environment and log, as a
        supervisor would; wait_ready() tells when it answers. Refused while it still runs."""
        proc = self.processes[name]
        if proc.alive:
            raise LaunchError(f"{name} is still running (pid {proc.pid})")
        self._spawn(proc)
        self._write_state()

    def deaths(self) -> list[Death]:
        """Parts that ended although nobody stopped them."""
        dead = [
            Death(proc.name, proc.returncode, proc.log_path)
            for proc in self.processes.values()
            if proc.process is not None and proc.process.poll() is not None
        ]
        if (
            self.redis is not None
            and self.redis.process is not None
            and self.redis.process.poll() is not None
        ):
            log_path = self.redis.directory / "redis.log" if self.redis.directory else None
            dead.append(Death("redis", self.redis.process.returncode, log_path))
        return dead

    def watch(self, stop: threading.Event | None = None, interval: float = 0.5) -> list[Death]:
        """Block until a part dies (returns the dead) or `stop` is set (returns [])."""
        stop = stop or threading.Event()
        while not stop.is_set():
            dead = self.deaths()
            if dead:
                return dead
            stop.wait(interval)
        return []

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM every child, SIGKILL what is left after `timeout`, then stop a started Redis."""
        running = [proc for proc in self.processes.values() if proc.alive]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                assert proc.process is not None
                proc.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in running:
            assert proc.process is not None
            try:
                proc.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.process.kill()
                proc.process.wait(timeout=10)
        for proc in self.processes.values():
            proc.ready = False
        if self.redis is not None:
            self.redis.stop()
        self._remove_state()

    def __enter__(self) -> System:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- a note for other `shian` commands ---------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.var_dir / STATE_FILE

    def _write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "redis_url": self.redis_url,
            "stream_prefix": self.settings.stream_prefix,
            "urls": self.urls,
            "pids": self.pids,
        }
        # 0600: the Redis URL may carry a password
        with _private_write(self.state_path) as handle:
            handle.write(json.dumps(state, indent=2).encode())

    def _remove_state(self) -> None:
        with contextlib.suppress(OSError):
            if self.state_path.exists() and read_state(self.var_dir).get("pid") == os.getpid():
                self.state_path.unlink()


def read_state(var_dir: Path) -> dict[str, Any]:
    """What a running `shian up` wrote about itself (its Redis URL, service URLs), if it still runs."""
    try:
        state = json.loads((Path(var_dir) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    pid = state.get("pid")
    if not isinstance(pid, int) or not _pid_alive(pid):
        return {}
    return state


def reap_orphans(var_dir: Path) -> list[int]:
    """Stop what a launcher that was killed outright (SIGKILL, power cut of the terminal) left.

    Its services end with it (parent-death signal), but a Redis it started does not. The state file
    names the PIDs; one is stopped only if the launcher is gone and the PID still runs the program
    recorded (redis-server on the recorded port, or `-m services.<name>`), never a reused PID.
    """
    try:
        state = json.loads((Path(var_dir) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    launcher = state.get("pid")
    if not isinstance(launcher, int) or _pid_alive(launcher):
        return []
    port = str(state.get("redis_url") or "").rsplit(":", 1)[-1].split("/", 1)[0]
    stopped = []
    for name, pid in (state.get("pids") or {}).items():
        if not isinstance(pid, int):
            continue
        expected = ("redis-server", port) if name == "redis" else (f"services.{name}",)
        if _cmdline_has(pid, expected):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
                stopped.append(pid)
    with contextlib.suppress(OSError):
        (Path(var_dir) / STATE_FILE).unlink()
    return stopped


def _cmdline_has(pid: int, parts: Sequence[str]) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return bool(cmdline) and all(part and part in cmdline for part in parts)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _spec(name: str) -> Any:
    from shared.runner import load_spec

    return load_spec(name)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


# -- private files ---------------------------------------------------------------------------


def _private_write(path: Path) -> IO[bytes]:
    """`path` truncated for writing, 0600."""
    descriptor = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o600)
    with contextlib.suppress(PermissionError):
        os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "wb")


# -- children die with the launcher ----------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _can_die_with_parent() -> bool:
    # PR_SET_PDEATHSIG fires when the *thread* that forked exits: only safe from the main thread.
    return sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread()


def _die_with_parent() -> Callable[[], None]:
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return preexec
