"""The fault campaign: the whole system under a steady workload while its parts are killed, against
a ground truth of every command the clients saw accepted.

    python bench/faults.py                     # the long campaign (about 12 minutes, 24 kills)
    python bench/faults.py --quick             # about a minute: 4 kills, 1 Redis restart, 1 burst
    python bench/faults.py --postgres auto     # the same on PostgreSQL (127.0.0.1:5432, trust), with
                                               # a database outage; or --postgres URL of a server

Redis (private, append-only file) and the four services run as child processes (shian.launcher
.System) on free ports of 127.0.0.1 in a private var directory. Clients with their own tokens send
commands at a steady rate, each with a fresh Idempotency-Key; on a connection error, a timeout or a
503 they send the same command with the same key until a definite answer comes, and every 2xx is
written down with the ids it returned: that is the ground truth. Meanwhile the faults: services
killed with SIGKILL and restarted at once (a supervisor), Redis killed and restarted from its
append-only file, a PostgreSQL outage, a concurrent burst against each service, streams read out
of order (inspection down while businesses are registered and incidents name them), and an XLSX
whose sharedStrings.xml expands to about 1 GB posted to the registry's import.

After the last fault the workload stops and the campaign waits until the bus is quiet (no lag, no
pending entry, every outbox empty) and the read models agree with the owners, then audits every
accepted command: its effect present exactly once in its owner and in every projection that
depends on it. `tests/integration/test_faults.py` runs the same code at a small scale.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/faults.py` from a checkout
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from services.inspection.checklists import templates  # noqa: E402
from shared.auth import Role, issue_token  # noqa: E402
from shared.clock import local_today  # noqa: E402
from shared.localredis import free_port  # noqa: E402

# The campaign runs the four domain services: identity's ground truth (accounts, sessions, keys) is
# not in its model, and its sign-in is Argon2id-bound, not a bus or database fault target.
from shared.settings import DOMAIN_SERVICES, Settings  # noqa: E402
from shian.demo import load_demo, places, read_county  # noqa: E402
from shian.launcher import System  # noqa: E402

SECRET = "faults-secret-key-" + "5f3a9c1e7b2d4086" * 2
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_DOWN = "the database is unavailable"
CONVERGE_TARGET = 60.0


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """What the campaign does; `quick()` is the short form `make test` runs."""

    minutes: float = 12.0  # the workload runs until the last fault, spread over this time
    rate: float = 20.0  # commands per second, all clients together
    clients: int = 6
    kills: int = 24  # SIGKILLs of services (the reordering fault is one of them)
    redis_restarts: int = 2
    burst: int = 500  # concurrent requests per burst
    burst_services: tuple[str, ...] = DOMAIN_SERVICES
    upload_mb: int = 1024  # what the hostile XLSX expands to; 0: no upload
    upload_rss_cap_mb: int = 4096  # the registry is killed past this, to spare the machine
    reorder: bool = True
    reorder_businesses: int = 6
    reorder_backlog: int = 600  # businesses registered before them (SHIAN_BATCH_SIZE is 256)
    postgres: str | None = None  # an admin URL of a PostgreSQL server; None: SQLite
    db_outages: int = 1
    db_outage_seconds: float = 6.0
    converge_timeout: float = 240.0
    seed: int = 20261130
    var_dir: Path | None = None
    env: tuple[tuple[str, str], ...] = ()  # extra SHIAN_* settings for the services

    @classmethod
    def quick(cls, **changes: Any) -> Config:
        base = cls(
            minutes=1.0,
            rate=12.0,
            clients=4,
            kills=4,
            redis_restarts=1,
            burst=100,
            burst_services=("registry",),
            upload_mb=0,
            reorder_businesses=3,
            converge_timeout=90.0,
            env=(("SHIAN_CLAIM_IDLE_MS", "5000"),),
        )
        return replace(base, **changes)


# --- the ground truth ---------------------------------------------------------------------------


@dataclass
class Business:
    id: str
    name: str
    kind: str
    township_id: str
    village_id: str
    known_at: float  # monotonic time of the 2xx
    licences: dict[str, list[str]] = field(default_factory=dict)  # kind -> numbers accepted
    staff: list[str] = field(default_factory=list)
    inspections: list[str] = field(default_factory=list)
    incident: str | None = None
    death: bool = False
    reordered: bool = False
    preloaded: bool = False


@dataclass
class Truth:
    """Every command answered 2xx, with the ids it returned."""

    businesses: dict[str, Business] = field(default_factory=dict)
    inspections: dict[str, str] = field(default_factory=dict)  # id -> business
    incident_reports: Counter[str] = field(default_factory=Counter)  # incident -> accepted reports
    banquets: set[str] = field(default_factory=set)
    complaints: set[str] = field(default_factory=set)
    publicity: set[str] = field(default_factory=set)
    accepted: Counter[str] = field(default_factory=Counter)  # per kind of command
    refused: Counter[str] = field(default_factory=Counter)  # definite 4xx answers, per kind
    inspectable: list[str] = field(default_factory=list)
    incident_pool: list[str] = field(default_factory=list)


@dataclass
class HttpLog:
    """Every answer the clients got, to count 5xx outside a database outage."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # 5xx that count against the target
    outage_503: int = 0
    shed_503: int = 0
    transport_errors: int = 0
    retries: int = 0
    outages: list[tuple[float, float]] = field(default_factory=list)
    outage_grace: float = 15.0

    def in_outage(self, at: float) -> bool:
        return any(start <= at <= end + self.outage_grace for start, end in self.outages)

    def note(self, service: str, answer: httpx.Response, at: float, what: str) -> None:
        self.statuses[(service, answer.status_code)] += 1
        if answer.status_code < 500:
            return
        if answer.status_code == 503:
            if DATABASE_DOWN not in answer.text:
                self.shed_503 += 1
                return
            if self.in_outage(at):
                self.outage_503 += 1
                return
        self.server_errors.append(f"{service} {what}: {answer.status_code} {answer.text[:200]}")


@dataclass
class BurstResult:
    service: str
    ok: int = 0
    shed: int = 0
    other: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


@dataclass
class Result:
    config: Config
    database: str
    accepted: int = 0
    accepted_by_kind: dict[str, int] = field(default_factory=dict)
    named_incidents: int = 0  # incidents naming a business: urgent task, blackout, investigation
    reordered: int = 0  # of them, named while inspection was down
    refused: int = 0
    refused_by_kind: dict[str, int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    reorder_dropped: list[str] = field(default_factory=list)
    deadletters: int = 0
    stuck: int = 0
    server_errors: list[str] = field(default_factory=list)
    kills: int = 0
    redis_restarts: int = 0
    db_outages: int = 0
    bursts: list[BurstResult] = field(default_factory=list)
    upload: dict[str, Any] = field(default_factory=dict)
    converge_seconds: float | None = None
    restart_seconds: list[float] = field(default_factory=list)
    workload_seconds: float = 0.0
    http: HttpLog | None = None
    notes: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        """The targets missed, in words; empty when the campaign passed."""
        missed = []
        for label, items in (
            ("lost", self.lost),
            ("duplicated", self.duplicated),
            ("dropped effects", self.dropped),
            ("5xx outside a database outage", self.server_errors),
        ):
            if items:
                missed.append(f"{len(items)} {label}: {'; '.join(items[:5])}")
        if self.refused:  # every command sent is valid: a definite refusal is work not done
            missed.append(f"{self.refused} valid commands refused: {self.refused_by_kind}")
        if self.deadletters:
            missed.append(f"{self.deadletters} dead letters")
        if self.stuck:
            missed.append(f"{self.stuck} stuck (pending entries, lag or outbox rows)")
        if self.converge_seconds is None:
            missed.append("did not converge")
        elif self.converge_seconds >= CONVERGE_TARGET:
            missed.append(f"converged in {self.converge_seconds:.1f}s (target < {CONVERGE_TARGET:.0f}s)")
        if self.kills < self.config.kills:
            missed.append(f"only {self.kills} of {self.config.kills} kills done")
        if self.redis_restarts < self.config.redis_restarts:
            missed.append(f"only {self.redis_restarts} of {self.config.redis_restarts} Redis restarts done")
        return missed


# --- the campaign ------------------------------------------------------------------------------


class Campaign:
    """One run: start, load, drive and break the system, converge, audit, stop."""

    def __init__(self, config: Config, log: Callable[[str], None] = print) -> None:
        self.config = config
        self.log = log
        self.rng = random.Random(config.seed)
        self.truth = Truth()
        self.http_log = HttpLog()
        self.result = Result(config=config, database="PostgreSQL" if config.postgres else "SQLite")
        self.result.http = self.http_log
        self.system: System | None = None
        self.settings: Settings | None = None
        self.started = time.monotonic()
        self.stop_workload = asyncio.Event()
        self.last_fault_at: float | None = None
        self.pg_databases: dict[str, str] = {}
        self.county = read_county()
        self.places = places(self.county)
        self.townships = [t.id for t in self.county.townships]
        self.villages = {t.id: [v.id for v in t.villages] for t in self.county.townships}
        self.headers: dict[str, dict[str, str]] = {}
        self.owned_var_dir = config.var_dir is None
        self.var_dir = Path(config.var_dir or tempfile.mkdtemp(prefix="shian-faults-")) / "var"
        self.sequence = 0

    def say(self, message: str) -> None:
        self.log(f"[{time.monotonic() - self.started:7.1f}s] {message}")

    # -- setting up ----------------------------------------------------------------------------

    def _create_postgres(self) -> dict[str, str]:
        import psycopg

        assert self.config.postgres is not None
        tag = uuid.uuid4().hex[:8]
        urls = {}
        with psycopg.connect(self.config.postgres, autocommit=True, connect_timeout=5) as admin:
            for name in DOMAIN_SERVICES:
                database = f"shian_faults_{tag}_{name}"
                admin.execute(f'CREATE DATABASE "{database}"')
                self.pg_databases[name] = database
                urls[name] = _database_url(self.config.postgres, database)
        return urls

    def _drop_postgres(self) -> None:
        if not self.pg_databases or self.config.postgres is None:
            return
        import psycopg

        with psycopg.connect(self.config.postgres, autocommit=True, connect_timeout=5) as admin:
            for database in self.pg_databases.values():
                admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self.pg_databases.clear()

    def start(self) -> None:
        env = {
            "SHIAN_ENV": "test",
            "SHIAN_SECRET_KEY": SECRET,
            "SHIAN_STREAM_PREFIX": f"faults{uuid.uuid4().hex[:8]}",
            "SHIAN_RATE_LIMIT_PER_MINUTE": "0",  # a load test: every client sends as fast as it likes
        }
        if self.config.postgres:
            for name, url in self._create_postgres().items():
                env[f"SHIAN_{name.upper()}_DATABASE_URL"] = url
        else:
            for name in DOMAIN_SERVICES:  # never a database the caller's environment names
                env[f"SHIAN_{name.upper()}_DATABASE_URL"] = f"sqlite:///{self.var_dir / f'{name}.db'}"
        env.update(dict(self.config.env))
        self.system = System(
            var_dir=self.var_dir,
            redis_url=None,
            ports={n: free_port() for n in DOMAIN_SERVICES},
            env=env,
            services=DOMAIN_SERVICES,
        )
        self.say(f"starting Redis and the four services in {self.var_dir} ({self.result.database})")
        self.system.start()
        self.system.wait_ready(timeout=180)
        self.settings = self.system.settings
        loaded = load_demo(self.system.urls["registry"], self.settings, definition=self.county, timeout=60)
        self._issue_tokens()
        self.preload()
        self.say(f"demo county loaded: {loaded.businesses_created} businesses; Redis {self.system.redis_url}")

    def preload(self) -> None:
        """The demo county's businesses join the ground truth (inspected like the others)."""
        answer = httpx.get(
            f"{self.url('registry')}/businesses",
            params={"limit": 500},
            headers=self.headers["county"],
            timeout=60,
        )
        answer.raise_for_status()
        for item in answer.json()["items"]:
            village = item["village_id"]
            business = Business(
                id=item["id"],
                name=item["name"],
                kind=item["kind"],
                township_id=self.places[village].township_id or "",
                village_id=village,
                known_at=time.monotonic(),
                licences={licence["kind"]: [licence["number"]] for licence in item.get("licences", [])},
                preloaded=True,
            )
            self.truth.businesses[business.id] = business
            self.truth.inspectable.append(business.id)

    def _issue_tokens(self) -> None:
        assert self.settings is not None
        county = self.county.id

        def token(subject: str, role: Role, township: str | None = None, village: str | None = None) -> str:
            return issue_token(
                self.settings,  # type: ignore[arg-type]
                subject=subject,
                role=role,
                county_id=county,
                township_id=township,
                village_id=village,
                ttl=timedelta(hours=12),
            )

        self.headers["county"] = {"Authorization": f"Bearer {token('faults-county', Role.county)}"}
        for client in range(max(self.config.clients, 1) + 1):  # the last one is the faults' own
            for township in self.townships:
                for role in (Role.township, Role.inspector):
                    key = f"{client}:{role.value}:{township}"
                    self.headers[key] = {
                        "Authorization": f"Bearer {token(f'client{client}-{role.value}', role, township)}"
                    }
                for village in self.villages[township]:
                    subject = f"client{client}-village-{village}"
                    self.headers[f"{client}:village:{village}"] = {
                        "Authorization": f"Bearer {token(subject, Role.village, township, village)}"
                    }

    def stop(self) -> None:
        if self.system is not None:
            self.system.stop()
        with contextlib.suppress(Exception):
            self._drop_postgres()
        if self.owned_var_dir:
            shutil.rmtree(self.var_dir.parent, ignore_errors=True)

    def url(self, service: str) -> str:
        assert self.system is not None
        return self.system.urls[service]

    # -- one command until a definite answer ----------------------------------------------------

    async def command(
        self,
        http: httpx.AsyncClient,
        service: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Any = None,
        *,
        what: str,
        retry_refusal: Callable[[httpx.Response], bool] | None = None,
        content: bytes | None = None,
        timeout: float = 30.0,
        give_up_after: float = 180.0,
    ) -> httpx.Response | None:
        """Send with a fresh Idempotency-Key; on a connection error, a timeout or a 503 send the
        same again (Retry-After honoured) until an answer that is not one of those."""
        key = f"faults-{uuid.uuid4()}"
        sent = {**headers, "Idempotency-Key": key}
        if content is not None:
            sent["Content-Type"] = "application/octet-stream"
        deadline = time.monotonic() + give_up_after
        pause = 0.2
        while True:
            try:
                answer = await http.request(
                    method,
                    f"{self.url(service)}{path}",
                    json=body if content is None else None,
                    content=content,
                    headers=sent,
                    timeout=timeout,
                )
            except httpx.TransportError:
                self.http_log.transport_errors += 1
                answer = None
            if answer is not None:
                self.http_log.note(service, answer, time.monotonic(), what)
                retry = answer.status_code >= 500 or (
                    retry_refusal is not None and 400 <= answer.status_code < 500 and retry_refusal(answer)
                )
                if not retry:
                    return answer
                if answer.status_code == 503:
                    with contextlib.suppress(ValueError):
                        pause = min(float(answer.headers.get("Retry-After", pause)), 5.0)
            if time.monotonic() > deadline:
                self.result.notes.append(f"gave up on {what} after {give_up_after:.0f}s")
                return None
            self.http_log.retries += 1
            await asyncio.sleep(pause * (0.5 + self.rng.random()))
            pause = min(pause * 1.6, 3.0)

    # -- the workload --------------------------------------------------------------------------

    def _name(self, prefix: str) -> str:
        self.sequence += 1
        return f"{prefix}{self.sequence:06d}"

    async def register_business(
        self, http: httpx.AsyncClient, client: int, *, pool: str | None = None, reordered: bool = False
    ) -> Business | None:
        township = self.rng.choice(self.townships)
        village = self.rng.choice(self.villages[township])
        kind = self.rng.choice(["catering", "catering", "grocery", "workshop", "street_vendor"])
        name = self._name("故障测试店")
        body: dict[str, Any] = {"name": name, "kind": kind, "village_id": village, "operator": "王建华"}
        if self.rng.random() < 0.3:
            today = local_today()
            body["food_permit"] = {
                "number": f"JY{uuid.uuid4().hex[:14].upper()}",
                "issued_on": (today - timedelta(days=30)).isoformat(),
                "expires_on": (today + timedelta(days=1800)).isoformat(),
            }
        answer = await self.command(
            http,
            "registry",
            "POST",
            "/businesses",
            self.headers[f"{client}:township:{township}"],
            body,
            what="register a business",
        )
        if not self._accepted("business", answer):
            return None
        assert answer is not None
        business = Business(
            id=answer.json()["id"],
            name=name,
            kind=kind,
            township_id=township,
            village_id=village,
            known_at=time.monotonic(),
            reordered=reordered,
        )
        if "food_permit" in body:
            business.licences["food_permit"] = [body["food_permit"]["number"]]
        self.truth.businesses[business.id] = business
        chosen = pool or ("incident" if self.rng.random() < 0.3 else "inspectable")
        if chosen == "incident":
            self.truth.incident_pool.append(business.id)
        elif chosen == "inspectable":
            self.truth.inspectable.append(business.id)
        return business

    def _accepted(self, kind: str, answer: httpx.Response | None) -> bool:
        if answer is None:
            self.truth.refused[f"{kind} (no answer)"] += 1
            return False
        if answer.is_success:
            self.truth.accepted[kind] += 1
            return True
        label = f"{kind} {answer.status_code}"
        self.truth.refused[label] += 1
        if self.truth.refused[label] <= 2:
            self.result.notes.append(f"refused {label}: {answer.text[:200]}")
        return False

    def _ripe(self, ids: list[str], age: float) -> list[str]:
        """Businesses known for `age` seconds: the other services have most likely heard of them."""
        now = time.monotonic()
        return [i for i in ids if now - self.truth.businesses[i].known_at >= age]

    async def record_licence(self, http: httpx.AsyncClient, client: int) -> None:
        ripe = self._ripe(self.truth.inspectable, 0)
        if not ripe:
            return
        business = self.truth.businesses[self.rng.choice(ripe)]
        today = local_today()
        number = f"JY{uuid.uuid4().hex[:14].upper()}"
        body = {
            "number": number,
            "issued_on": (today - timedelta(days=10)).isoformat(),
            "expires_on": (today + timedelta(days=1800)).isoformat(),
        }
        answer = await self.command(
            http,
            "registry",
            "PUT",
            f"/businesses/{business.id}/licences/business_licence",
            self.headers[f"{client}:township:{business.township_id}"],
            body,
            what="record a licence",
        )
        if self._accepted("licence", answer):  # a renewal replaces the number: any accepted one
            business.licences.setdefault("business_licence", []).append(number)

    async def add_staff(self, http: httpx.AsyncClient, client: int) -> None:
        ripe = self._ripe(self.truth.inspectable, 0)
        if not ripe:
            return
        business = self.truth.businesses[self.rng.choice(ripe)]
        body = {
            "name": self._name("员工"),
            "position": "厨师",
            "certificate": {"number": uuid.uuid4().hex[:12], "issued_on": local_today().isoformat()},
        }
        answer = await self.command(
            http,
            "registry",
            "POST",
            f"/businesses/{business.id}/staff",
            self.headers[f"{client}:township:{business.township_id}"],
            body,
            what="add a food handler",
        )
        if self._accepted("staff", answer):
            assert answer is not None
            business.staff.append(answer.json()["id"])

    async def record_inspection(self, http: httpx.AsyncClient, client: int) -> None:
        ripe = [
            i
            for i in self._ripe(self.truth.inspectable, 3.0)
            if templates.template_for(self.truth.businesses[i].kind, on=local_today()) is not None
        ]
        if not ripe:
            return
        business = self.truth.businesses[self.rng.choice(ripe)]
        template = templates.template_for(business.kind, on=local_today())
        assert template is not None
        failing = {item.code for item in template.items if self.rng.random() < 0.08}
        items = [
            {"code": item.code, "result": "fail" if item.code in failing else "pass"}
            for item in template.items
        ]
        body = {"business_id": business.id, "kind": "routine", "inspectors": ["王强", "李娜"], "items": items}
        answer = await self.command(
            http,
            "inspection",
            "POST",
            "/inspections",
            self.headers[f"{client}:inspector:{business.township_id}"],
            body,
            what="record an inspection",
            retry_refusal=_unknown_business,
            give_up_after=240.0,
        )
        if self._accepted("inspection", answer):
            assert answer is not None
            inspection = answer.json()["id"]
            business.inspections.append(inspection)
            self.truth.inspections[inspection] = business.id

    async def report_incident(
        self, http: httpx.AsyncClient, client: int, business: Business | None = None, *, death: bool = False
    ) -> None:
        if business is None and self.rng.random() < 0.6:
            ripe = self._ripe(self.truth.incident_pool, 3.0)
            if ripe:
                business = self.truth.businesses[ripe[0]]
                death = self.rng.random() < 0.3
        if business is not None:
            if business.id in self.truth.incident_pool:  # named once: one incident, one urgent task
                self.truth.incident_pool.remove(business.id)
            township, village = business.township_id, business.village_id
        else:
            township = self.rng.choice(self.townships)
            village = self.rng.choice(self.villages[township])
        body: dict[str, Any] = {
            "township_id": township,
            "village_id": village,
            "ill_count": self.rng.choice([3, 8, 35]),
            "death_count": 1 if death else 0,
            "place_kind": "restaurant" if business is not None else self.rng.choice(["banquet", "other"]),
            "description": "饭后多人腹泻呕吐",
        }
        if business is not None:
            body["business_id"] = business.id
        answer = await self.command(
            http,
            "alerts",
            "POST",
            "/incidents",
            self.headers[f"{client}:village:{village}"],
            body,
            what="report an incident",
            retry_refusal=_unknown_business,
            give_up_after=240.0,
        )
        if self._accepted("incident", answer):
            assert answer is not None
            incident = answer.json()["id"]
            self.truth.incident_reports[incident] += 1
            if business is not None:
                business.incident = incident
                business.death = death

    async def file_banquet(self, http: httpx.AsyncClient, client: int) -> None:
        township = self.rng.choice(self.townships)
        village = self.rng.choice(self.villages[township])
        body = {
            "village_id": village,
            "host": self._name("张家"),
            "occasion": self.rng.choice(["wedding", "birthday", "funeral"]),
            "held_on": (local_today() + timedelta(days=self.rng.randint(0, 5))).isoformat(),
            "venue": "村委会广场",
            "tables": self.rng.randint(5, 40),
            "people": self.rng.randint(50, 400),
            "cook": {"name": "刘师傅", "health_status": "certified", "certificate_number": "JK2026001"},
            "food_sources": ["镇农贸市场"],
        }
        answer = await self.command(
            http,
            "registry",
            "POST",
            "/banquets",
            self.headers[f"{client}:village:{village}"],
            body,
            what="file a banquet",
        )
        if self._accepted("banquet", answer):
            assert answer is not None
            self.truth.banquets.add(answer.json()["id"])

    async def take_complaint(self, http: httpx.AsyncClient, client: int) -> None:
        township = self.rng.choice(self.townships)
        body = {
            "channel": self.rng.choice(["phone", "web", "walk_in"]),
            "content": self._name("投诉饭菜不洁"),
        }
        answer = await self.command(
            http,
            "inspection",
            "POST",
            "/complaints",
            self.headers[f"{client}:township:{township}"],
            body,
            what="take a complaint",
        )
        if self._accepted("complaint", answer):
            assert answer is not None
            self.truth.complaints.add(answer.json()["id"])

    async def client_loop(self, client: int) -> None:
        """One client: a command every clients/rate seconds on average, each to a definite answer."""
        interval = self.config.clients / self.config.rate
        actions = [
            (self.register_business, 20),
            (self.record_licence, 8),
            (self.add_staff, 8),
            (self.record_inspection, 28),
            (self.report_incident, 10),
            (self.file_banquet, 10),
            (self.take_complaint, 16),
        ]
        functions = [function for function, _weight in actions]
        weights = [weight for _function, weight in actions]
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        async with httpx.AsyncClient(limits=limits) as http:
            next_at = time.monotonic() + self.rng.random() * interval
            while not self.stop_workload.is_set():
                await asyncio.sleep(max(next_at - time.monotonic(), 0))
                action = self.rng.choices(functions, weights)[0]
                try:
                    await action(http, client)
                except Exception as error:  # an answer without the id it should carry, a bug here
                    self.result.notes.append(f"client {client}: {type(error).__name__}: {error}")
                next_at = max(next_at + interval * (0.5 + self.rng.random()), time.monotonic())

    # -- the faults ----------------------------------------------------------------------------

    def plan(self) -> list[tuple[str, str | None]]:
        """The faults in order: kills of random services, Redis restarts, bursts, the upload, the
        reordering, database outages; always ending with a kill."""
        config = self.config
        kills = config.kills - (1 if config.reorder else 0)
        faults: list[tuple[str, str | None]] = [("kill", None) for _ in range(max(kills - 1, 0))]
        faults += [("redis", None)] * config.redis_restarts
        faults += [("burst", service) for service in config.burst_services]
        if config.upload_mb:
            faults.append(("upload", None))
        if config.reorder:
            faults.append(("reorder", None))
        if config.postgres:
            faults += [("db_outage", None)] * config.db_outages
        self.rng.shuffle(faults)
        return [*faults, ("kill", None)]

    async def run_faults(self) -> None:
        faults = self.plan()
        interval = self.config.minutes * 60 / (len(faults) + 1)
        self.say(f"{len(faults)} faults, one every {interval:.0f}s")
        begin = time.monotonic()
        for index, (kind, argument) in enumerate(faults, start=1):
            await asyncio.sleep(max(begin + index * interval - time.monotonic(), 0))
            if kind == "kill":
                await self.kill_service(self.rng.choice(DOMAIN_SERVICES))
            elif kind == "redis":
                await self.restart_redis()
            elif kind == "burst":
                assert argument is not None
                await self.burst(argument)
            elif kind == "upload":
                await self.hostile_upload()
            elif kind == "reorder":
                await self.reorder()
            elif kind == "db_outage":
                await self.database_outage()
        self.last_fault_at = self.last_fault_at or time.monotonic()

    async def kill_service(self, name: str, *, restart: bool = True) -> None:
        assert self.system is not None
        self.system.kill(name)
        self.result.kills += 1
        self.say(f"SIGKILL {name} (kill {self.result.kills})")
        if restart:
            await self.restart_service(name)

    async def restart_service(self, name: str) -> None:
        assert self.system is not None
        self.system.restart(name)
        self.last_fault_at = time.monotonic()
        ready = await self.wait_ready(name)
        self.result.restart_seconds.append(ready)
        self.say(f"{name} restarted, ready after {ready:.1f}s")

    async def wait_ready(self, name: str, timeout: float = 120.0) -> float:
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() - started < timeout:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url(name)}/readyz")).status_code == 200:
                        return time.monotonic() - started
                await asyncio.sleep(0.2)
        self.result.notes.append(f"{name} not ready {timeout:.0f}s after a restart")
        return time.monotonic() - started

    async def restart_redis(self) -> None:
        assert self.system is not None and self.system.redis is not None
        self.system.redis.kill()
        self.say("SIGKILL Redis")
        await asyncio.sleep(2.0)  # the services notice and back off
        self.system.redis.start()  # same port, same append-only file
        self.last_fault_at = time.monotonic()
        self.result.redis_restarts += 1
        self.say(f"Redis restarted from its append-only file (restart {self.result.redis_restarts})")

    async def database_outage(self) -> None:
        import psycopg

        assert self.config.postgres is not None
        seconds = self.config.db_outage_seconds
        start = time.monotonic()

        def close_and_open() -> None:
            with psycopg.connect(self.config.postgres, autocommit=True, connect_timeout=5) as admin:  # type: ignore[arg-type]
                for database in self.pg_databases.values():
                    admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()",
                        (database,),
                    )
                time.sleep(seconds)
                for database in self.pg_databases.values():
                    admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

        self.say(f"PostgreSQL outage: no connections to the four databases for {seconds:.0f}s")
        window = [start, start + seconds + 5]
        self.http_log.outages.append((window[0], window[1]))
        await asyncio.to_thread(close_and_open)
        self.http_log.outages[-1] = (start, time.monotonic())
        self.last_fault_at = time.monotonic()
        self.result.db_outages += 1
        self.say("PostgreSQL accepts connections again")

    async def burst(self, service: str) -> None:
        """`burst` concurrent commands at once, no retries: how many are served, how many shed."""
        client = self.config.clients  # the faults' own tokens
        count = self.config.burst
        result = BurstResult(service)
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)

        def request(index: int) -> tuple[str, dict[str, str], dict[str, Any], str]:
            township = self.townships[index % len(self.townships)]
            village = self.villages[township][index % len(self.villages[township])]
            if service == "registry":
                name = self._name("突发店")
                body = {"name": name, "kind": "catering", "village_id": village}
                return "/businesses", self.headers[f"{client}:township:{township}"], body, name
            if service == "inspection":
                body = {"channel": "phone", "content": self._name("突发投诉")}
                return "/complaints", self.headers[f"{client}:township:{township}"], body, ""
            if service == "alerts":
                body = {
                    "township_id": township,
                    "village_id": village,
                    "ill_count": 4,
                    "place_kind": "other",
                    "description": "突发报告",
                }
                return "/incidents", self.headers[f"{client}:village:{village}"], body, ""
            body = {"kind": "lecture", "title": self._name("突发宣传"), "held_on": local_today().isoformat()}
            return "/activities/publicity", self.headers[f"{client}:township:{township}"], body, ""

        async def one(http: httpx.AsyncClient, index: int) -> None:
            path, headers, body, name = request(index)
            sent = {**headers, "Idempotency-Key": f"burst-{uuid.uuid4()}"}
            try:
                answer = await http.post(f"{self.url(service)}{path}", json=body, headers=sent)
            except httpx.TransportError as error:
                result.other[type(error).__name__] += 1
                return
            self.http_log.note(service, answer, time.monotonic(), f"burst {path}")
            if answer.is_success:
                result.ok += 1
                self._record_burst(service, answer.json(), body, name)
            elif answer.status_code == 503:
                result.shed += 1
            else:
                result.other[str(answer.status_code)] += 1

        self.say(f"burst of {count} concurrent commands against {service}")
        started = time.monotonic()
        async with httpx.AsyncClient(limits=limits, timeout=120) as http:
            await asyncio.gather(*(one(http, index) for index in range(count)))
        result.seconds = time.monotonic() - started
        self.result.bursts.append(result)
        self.last_fault_at = time.monotonic()
        self.say(
            f"burst on {service}: {result.ok} served, {result.shed} shed, {dict(result.other)} other, "
            f"{result.seconds:.1f}s"
        )

    def _record_burst(self, service: str, answer: dict[str, Any], body: dict[str, Any], name: str) -> None:
        self.truth.accepted[f"burst {service}"] += 1
        if service == "registry":
            village = body["village_id"]
            township = self.places[village].township_id or ""
            business = Business(answer["id"], name, "catering", township, village, time.monotonic())
            self.truth.businesses[business.id] = business
            self.truth.inspectable.append(business.id)
        elif service == "inspection":
            self.truth.complaints.add(answer["id"])
        elif service == "alerts":
            self.truth.incident_reports[answer["id"]] += 1
        else:
            self.truth.publicity.add(answer["id"])

    async def reorder(self) -> None:
        """Inspection down while businesses are registered and incidents name them: when it comes
        back, its two loops read the registry's and the alerts' streams in whatever order. The
        named businesses are registered behind `reorder_backlog` others, more than one batch, so
        the alerts loop reaches the incidents before the registry loop reaches the businesses."""
        client = self.config.clients
        await self.kill_service("inspection", restart=False)
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
        async with httpx.AsyncClient(limits=limits) as http:
            gate = asyncio.Semaphore(12)

            async def one() -> None:
                async with gate:
                    await self.register_business(http, client, pool="inspectable")

            await asyncio.gather(*(one() for _ in range(self.config.reorder_backlog)))
            registered = []
            for _ in range(self.config.reorder_businesses):
                business = await self.register_business(http, client, pool="reorder", reordered=True)
                if business is not None:
                    registered.append(business)
            for index, business in enumerate(registered):
                await self.report_incident(http, client, business, death=index % 2 == 0)
        self.say(
            f"reordering: {self.config.reorder_backlog} + {len(registered)} businesses registered, "
            f"{len(registered)} named in incidents, while inspection was down"
        )
        await self.restart_service("inspection")

    async def hostile_upload(self) -> None:
        """A ~1 MB XLSX whose sharedStrings.xml expands to upload_mb: the registry's peak memory."""
        assert self.system is not None
        data = await asyncio.to_thread(expanding_xlsx, self.config.upload_mb)
        pid = self.system.processes["registry"].pid
        assert pid is not None
        before = _memory(pid)
        peak = {"hwm_mb": 0.0, "capped": False}
        done = asyncio.Event()

        async def watch() -> None:
            while not done.is_set():
                memory = _memory(pid)
                if memory is None:
                    return
                peak["hwm_mb"] = max(peak["hwm_mb"], memory["VmHWM"] / 1024)
                if memory["VmRSS"] / 1024 > self.config.upload_rss_cap_mb:
                    peak["capped"] = True
                    self.say(f"registry past {self.config.upload_rss_cap_mb} MB: killing it")
                    await self.kill_service("registry", restart=False)
                    return
                await asyncio.sleep(0.1)

        self.say(f"hostile upload: {len(data) / 1e6:.2f} MB XLSX expanding to {self.config.upload_mb} MB")
        watcher = asyncio.create_task(watch())
        started = time.monotonic()
        status = "no answer"
        async with httpx.AsyncClient() as http:
            try:
                answer = await http.post(
                    f"{self.url('registry')}/imports/businesses",
                    params={"format": "xlsx"},
                    content=data,
                    headers={
                        **self.headers[f"{self.config.clients}:township:{self.townships[0]}"],
                        "Idempotency-Key": f"upload-{uuid.uuid4()}",
                        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    },
                    timeout=600,
                )
                self.http_log.note("registry", answer, time.monotonic(), "hostile upload")
                status = f"{answer.status_code} {answer.text[:160]}"
            except httpx.TransportError as error:
                status = f"{type(error).__name__}"
        seconds = time.monotonic() - started
        done.set()
        await watcher
        if peak["capped"]:
            await self.restart_service("registry")
        elif (memory := _memory(pid)) is not None:
            peak["hwm_mb"] = max(peak["hwm_mb"], memory["VmHWM"] / 1024)
        self.result.upload = {
            "compressed_mb": round(len(data) / 1e6, 2),
            "expands_to_mb": self.config.upload_mb,
            "answer": status,
            "seconds": round(seconds, 1),
            "rss_before_mb": round(before["VmRSS"] / 1024) if before else None,
            "peak_rss_mb": round(peak["hwm_mb"]),
            "killed_at_cap": peak["capped"],
        }
        self.last_fault_at = time.monotonic()
        self.say(
            f"hostile upload answered {status!r} in {seconds:.1f}s; registry peak RSS {peak['hwm_mb']:.0f} MB"
        )

    # -- convergence and audit -----------------------------------------------------------------

    async def snapshot(self) -> Any:
        from redis.asyncio import Redis

        from shian.status import take_snapshot

        assert self.system is not None and self.settings is not None and self.system.redis_url
        redis = Redis.from_url(self.system.redis_url, socket_timeout=5)
        try:
            return await take_snapshot(redis, self.settings, self.system.urls)
        finally:
            await redis.aclose()

    @staticmethod
    def unsettled(snapshot: Any) -> list[str]:
        """What keeps the bus from being quiet: lag, pending entries, outbox rows, a service away."""
        found = []
        for stream in snapshot.streams:
            for group in stream.groups:
                if group.pending or group.lag is None or group.lag:
                    found.append(f"{stream.name}/{group.name}: lag {group.lag}, pending {group.pending}")
        for service in snapshot.services:
            if not service.ready or service.outbox_backlog is None or service.outbox_backlog:
                found.append(f"{service.name}: {service.readiness}, outbox {service.outbox_backlog}")
        return found

    async def totals(self, http: httpx.AsyncClient) -> dict[str, tuple[float, float]]:
        """Reporting's figures beside what each owner holds: (owner, reporting)."""
        county = self.headers["county"]
        year = str(local_today().year)

        async def total(service: str, path: str) -> float:
            answer = await http.get(f"{self.url(service)}{path}", headers=county, params={"limit": 1})
            answer.raise_for_status()
            return float(answer.json()["total"])

        statistics = await http.get(
            f"{self.url('reporting')}/statistics/{self.county.id}", headers=county, params={"period": year}
        )
        statistics.raise_for_status()
        figures = statistics.json()["figures"]
        incidents = await self.all_incidents(http)
        return {
            "businesses": (await total("registry", "/businesses"), figures["businesses.registered"]["value"]),
            "inspections": (await total("inspection", "/inspections"), figures["inspections.total"]["value"]),
            "incidents": (float(len(incidents)), figures["incidents.reported"]["value"]),
            "complaints": (await total("inspection", "/complaints"), figures["complaints.received"]["value"]),
            "banquets": (await total("registry", "/banquets"), figures["banquets.filed"]["value"]),
        }

    async def converge(self) -> None:
        """Until the bus is quiet and reporting agrees with the owners; timed from the last fault."""
        assert self.last_fault_at is not None
        deadline = self.last_fault_at + self.config.converge_timeout
        last: list[str] = []
        async with httpx.AsyncClient(timeout=30) as http:
            while True:
                snapshot = await self.snapshot()
                last = self.unsettled(snapshot)
                if not last:
                    try:
                        totals = await self.totals(http)
                        last = [
                            f"{k}: owner {o:.0f}, reporting {r:.0f}" for k, (o, r) in totals.items() if o != r
                        ]
                    except httpx.HTTPError as error:
                        last = [f"totals: {error}"]
                if not last:
                    self.result.converge_seconds = time.monotonic() - self.last_fault_at
                    self.say(f"converged {self.result.converge_seconds:.1f}s after the last fault")
                    return
                if time.monotonic() > deadline:
                    self.say(
                        f"not converged after {self.config.converge_timeout:.0f}s: {'; '.join(last[:6])}"
                    )
                    self.result.notes.append("not converged: " + "; ".join(last[:10]))
                    return
                await asyncio.sleep(1.0)

    async def pages(
        self, http: httpx.AsyncClient, service: str, path: str, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Every item of a paged list (`items` and `total`, or a bare list)."""
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            answer = await http.get(
                f"{self.url(service)}{path}",
                headers=self.headers["county"],
                params={
                    "limit": limit,
                    "offset": offset,
                    **({"state": "all"} if path == "/incidents" else {}),
                },
            )
            answer.raise_for_status()
            data = answer.json()
            items = data["items"] if isinstance(data, dict) else data
            found.extend(items)
            offset += len(items)
            if len(items) < limit or (isinstance(data, dict) and offset >= data["total"]):
                return found

    async def all_incidents(self, http: httpx.AsyncClient) -> list[dict[str, Any]]:
        return await self.pages(http, "alerts", "/incidents")

    async def audit(self) -> None:
        """Every accepted command's effect, exactly once, in its owner and in its projections."""
        truth, result = self.truth, self.result
        lost, duplicated, dropped = result.lost, result.duplicated, result.dropped
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=8)) as http:
            county = self.headers["county"]
            registry = {b["id"]: b for b in await self.pages(http, "registry", "/businesses")}
            names = Counter(b["name"] for b in registry.values())
            for business in truth.businesses.values():
                found = registry.get(business.id)
                if found is None:
                    lost.append(f"business {business.id}")
                    continue
                if names[business.name] > 1:
                    duplicated.append(f"business {business.name} x{names[business.name]}")
                held = {licence["kind"]: licence["number"] for licence in found.get("licences", [])}
                lost += [
                    f"{kind} of {business.id}"
                    for kind, numbers in business.licences.items()
                    if held.get(kind) not in numbers
                ]
                if business.incident is not None:
                    if not found.get("under_investigation"):
                        dropped.append(f"registry: {business.id} not under investigation")
                    if business.death and found.get("status") != "suspended":
                        dropped.append(f"registry: {business.id} not suspended after a death")
            extra = set(registry) - set(truth.businesses)
            duplicated += [f"business {registry[i]['name']} not in the ground truth" for i in sorted(extra)]

            directory = {b["id"]: b for b in await self.pages(http, "inspection", "/directory/businesses")}
            for business_id, business in registry.items():
                known = directory.get(business_id)
                if known is None:
                    dropped.append(f"inspection directory: no business {business_id}")
                elif known["status"] != business["status"]:
                    dropped.append(
                        f"inspection directory: {business_id} {known['status']} != {business['status']}"
                    )
            for business in truth.businesses.values():
                known = directory.get(business.id)
                if business.incident and known is not None and known.get("last_incident_on") is None:
                    (result.reorder_dropped if business.reordered else dropped).append(
                        f"inspection directory: no grade blackout for {business.id}"
                    )

            inspections = await self.pages(http, "inspection", "/inspections", limit=200)
            owned = Counter(item["id"] for item in inspections)
            lost += [f"inspection {i}" for i in truth.inspections if i not in owned]
            per_business = Counter(item["business_id"] for item in inspections)
            expected = Counter(truth.inspections.values())
            duplicated += [
                f"inspections of {b}: {n} for {expected[b]} accepted"
                for b, n in per_business.items()
                if n > expected[b]
            ]

            semaphore = asyncio.Semaphore(8)

            async def get(service: str, path: str) -> Any:
                async with semaphore:
                    answer = await http.get(f"{self.url(service)}{path}", headers=county)
                    answer.raise_for_status()
                    return answer.json()

            inspected = [b for b in truth.businesses.values() if b.inspections]
            grades = await asyncio.gather(*(get("registry", f"/businesses/{b.id}/grades") for b in inspected))
            for business, history in zip(inspected, grades, strict=True):
                seen = Counter(g["inspection_id"] for g in history)
                dropped += [f"grade of inspection {i}" for i in business.inspections if i not in seen]
                duplicated += [f"grade of inspection {i} x{n}" for i, n in seen.items() if n > 1]

            with_staff = [b for b in truth.businesses.values() if b.staff]
            staff_lists = await asyncio.gather(
                *(get("registry", f"/businesses/{b.id}/staff") for b in with_staff)
            )
            for business, listed in zip(with_staff, staff_lists, strict=True):
                seen = Counter(s["id"] for s in listed)
                lost += [f"staff {s}" for s in business.staff if s not in seen]
                if len(listed) > len(business.staff):
                    duplicated.append(
                        f"staff of {business.id}: {len(listed)} for {len(business.staff)} accepted"
                    )

            incidents = {i["id"]: i for i in await self.all_incidents(http)}
            for incident, reports in truth.incident_reports.items():
                found = incidents.get(incident)
                if found is None:
                    lost.append(f"incident {incident}")
                elif found.get("report_count", 1) < reports:
                    lost.append(f"incident {incident}: {found.get('report_count')} reports of {reports}")
                elif found.get("report_count", 1) > reports:
                    duplicated.append(
                        f"incident {incident}: {found.get('report_count')} reports for {reports}"
                    )
            duplicated += [
                f"incident {i} not in the ground truth" for i in set(incidents) - set(truth.incident_reports)
            ]

            urgent: Counter[str] = Counter()
            for township in self.townships:
                worklist = await get("inspection", f"/worklist?township_id={township}")
                urgent.update(
                    str(item["business_id"]) for item in worklist["items"] if item["what"] == "urgent_task"
                )
            for business in truth.businesses.values():
                if business.incident is None:
                    continue
                if urgent[business.id] == 0:
                    (result.reorder_dropped if business.reordered else dropped).append(
                        f"no urgent task for {business.id} (incident {business.incident})"
                    )
                elif urgent[business.id] > 1:
                    duplicated.append(f"{urgent[business.id]} urgent tasks for {business.id}")
            dropped += result.reorder_dropped

            for label, service, path, ids in (
                ("banquet", "registry", "/banquets", truth.banquets),
                ("complaint", "inspection", "/complaints", truth.complaints),
                ("publicity", "reporting", "/activities/publicity", truth.publicity),
            ):
                owned = Counter(item["id"] for item in await self.pages(http, service, path))
                lost += [f"{label} {i}" for i in ids if i not in owned]
                duplicated += [f"{label} {i} not in the ground truth" for i in set(owned) - set(ids)]

            for key, (owner, reporting) in (await self.totals(http)).items():
                if reporting < owner:
                    dropped.append(f"reporting {key}: {reporting:.0f} of {owner:.0f}")
                elif reporting > owner:
                    duplicated.append(f"reporting {key}: {reporting:.0f} for {owner:.0f}")

        snapshot = await self.snapshot()
        result.deadletters = snapshot.deadletters
        result.stuck = sum(g.pending + (g.lag or 0) for s in snapshot.streams for g in s.groups) + sum(
            s.outbox_backlog or 0 for s in snapshot.services
        )
        result.server_errors = list(self.http_log.server_errors)
        result.accepted = sum(truth.accepted.values())
        result.accepted_by_kind = dict(truth.accepted.most_common())
        named = [b for b in truth.businesses.values() if b.incident is not None]
        result.named_incidents = len(named)
        result.reordered = sum(1 for b in named if b.reordered)
        result.refused = sum(truth.refused.values())
        result.refused_by_kind = dict(truth.refused.most_common())

    # -- the whole run -------------------------------------------------------------------------

    async def drive(self) -> None:
        self.say(f"workload: {self.config.clients} clients, {self.config.rate:.0f} commands/s")
        started = time.monotonic()
        clients = [asyncio.create_task(self.client_loop(n)) for n in range(self.config.clients)]
        try:
            await self.run_faults()
        finally:
            self.stop_workload.set()
            await asyncio.gather(*clients, return_exceptions=True)
        self.result.workload_seconds = time.monotonic() - started
        self.say(f"workload stopped: {sum(self.truth.accepted.values())} commands accepted")
        await self.converge()
        self.say("auditing every accepted command")
        await self.audit()

    def run(self) -> Result:
        try:
            self.start()
            asyncio.run(self.drive())
        finally:
            self.stop()
        return self.result


def run_campaign(config: Config, log: Callable[[str], None] = print) -> Result:
    """Start, drive, break, converge, audit and stop; the figures for the table."""
    return Campaign(config, log).run()


# --- helpers ------------------------------------------------------------------------------------


def _unknown_business(answer: httpx.Response) -> bool:
    """A 422 because the business has not reached this service's directory yet: worth retrying."""
    return (
        answer.status_code == 422
        and "business" in answer.text
        and ("unknown business" in answer.text or "no business" in answer.text)
    )


def _memory(pid: int) -> dict[str, int] | None:
    """VmRSS and VmHWM (peak) of a process in kB, from /proc."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    found = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found if len(found) == 2 else None


def _database_url(admin_url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=database)
    return url.render_as_string(hide_password=False)


SPREADSHEETML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def expanding_xlsx(expands_to_mb: int) -> bytes:
    """A real workbook (openpyxl's, one row) given a sharedStrings.xml that inflates to about
    `expands_to_mb` MB of 1 KB strings (deflate packs it about 400:1); the one cell refers to it."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["经营者名称"])
    plain = io.BytesIO()
    workbook.save(plain)
    string = b"<si><t>" + b"A" * 1024 + b"</t></si>"
    count = expands_to_mb * 1024 * 1024 // len(string)
    override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SPREADSHEETML}.sharedStrings+xml"/>'
    relation = (
        f'<Relationship Id="rIdStrings" Type="{RELATIONSHIPS}/sharedStrings" Target="sharedStrings.xml"/>'
    )
    edits = {
        "[Content_Types].xml": ("</Types>", override + "</Types>"),
        "xl/_rels/workbook.xml.rels": ("</Relationships>", relation + "</Relationships>"),
    }
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
    ):
        for entry in source.infolist():
            text = source.read(entry).decode()
            if entry.filename in edits:
                old, new = edits[entry.filename]
                text = text.replace(old, new)
            elif entry.filename == "xl/worksheets/sheet1.xml":
                start, end = text.index('<c r="A1"'), text.index("</c>") + len("</c>")
                text = text[:start] + '<c r="A1" t="s"><v>0</v></c>' + text[end:]
            archive.writestr(entry.filename, text)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as shared:
            shared.write(
                b'<?xml version="1.0" encoding="UTF-8"?>\n'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                + f'count="{count}" uniqueCount="{count}">'.encode()
            )
            chunk = string * 1024
            for _ in range(count // 1024):
                shared.write(chunk)
            shared.write(b"</sst>")
    return buffer.getvalue()


def find_postgres(wanted: str | None) -> str | None:
    """`auto`: a server answering on 127.0.0.1:5432 with trust authentication; else the URL given."""
    if wanted in (None, ""):
        return None
    url = LOCAL_POSTGRES if wanted == "auto" else wanted
    try:
        import psycopg

        with psycopg.connect(_plain_url(url), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as error:
        raise SystemExit(f"no PostgreSQL at {url}: {error}") from None
    return _plain_url(url)


def _plain_url(url: str) -> str:
    """A libpq URL (psycopg) from a SQLAlchemy one."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# --- the table ----------------------------------------------------------------------------------


def table(result: Result) -> str:
    """The campaign's figures as a Markdown table (the README's shape)."""
    http = result.http or HttpLog()
    rows: list[tuple[str, str]] = [
        ("database", result.database),
        (
            "workload",
            f"{result.workload_seconds / 60:.1f} min, {result.config.clients} clients, "
            f"{result.config.rate:.0f} commands/s",
        ),
        ("accepted (2xx)", f"{result.accepted:,}"),
        (
            "accepted by kind",
            ", ".join(f"{kind} {count:,}" for kind, count in result.accepted_by_kind.items()),
        ),
        ("incidents naming a business (of them reordered)", f"{result.named_incidents} ({result.reordered})"),
        ("refused (definite 4xx)", f"{result.refused:,}"),
        ("lost", str(len(result.lost))),
        ("duplicated", str(len(result.duplicated))),
        ("dropped effects", f"{len(result.dropped)} (reordering: {len(result.reorder_dropped)})"),
        ("dead-lettered", str(result.deadletters)),
        ("stuck (pending + lag + outbox)", str(result.stuck)),
        ("5xx outside a database outage", str(len(result.server_errors))),
        ("503 shed / during a DB outage", f"{http.shed_503:,} / {http.outage_503:,}"),
        ("connection errors and timeouts retried", f"{http.transport_errors:,}"),
        ("kills (SIGKILL)", str(result.kills)),
        ("Redis restarts", str(result.redis_restarts)),
        ("DB outages", str(result.db_outages)),
    ]
    if result.restart_seconds:
        ordered = sorted(result.restart_seconds)
        rows.append(
            (
                "service ready after restart (median / max)",
                f"{ordered[len(ordered) // 2]:.1f} s / {ordered[-1]:.1f} s",
            )
        )
    for burst in result.bursts:
        other = sum(burst.other.values())
        rows.append(
            (
                f"burst {result.config.burst} on {burst.service} (2xx/503/other)",
                f"{burst.ok}/{burst.shed}/{other} in {burst.seconds:.1f} s",
            )
        )
    if result.upload:
        upload = result.upload
        rows.append(
            (
                f"upload {upload['compressed_mb']} MB -> {upload['expands_to_mb']} MB",
                f"registry peak RSS {upload['peak_rss_mb']} MB (before {upload['rss_before_mb']} MB), "
                f"{upload['seconds']} s, answer {str(upload['answer'])[:60]}"
                + (", killed at the cap" if upload["killed_at_cap"] else ""),
            )
        )
    converged = "not converged" if result.converge_seconds is None else f"{result.converge_seconds:.1f} s"
    rows.append(("time to converge after the last fault", converged))
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {name} | {value.replace('|', '/')} |" for name, value in rows]
    return "\n".join(lines)


def report(result: Result) -> str:
    parts = [table(result)]
    for label, items in (
        ("lost", result.lost),
        ("duplicated", result.duplicated),
        ("dropped", result.dropped),
        ("5xx", result.server_errors),
        ("notes", result.notes),
    ):
        if items:
            parts.append(f"\n{label} ({len(items)}):\n  " + "\n  ".join(items[:25]))
    failures = result.failures()
    parts.append("\nTargets met." if not failures else "\nTargets missed:\n  " + "\n  ".join(failures))
    return "\n".join(parts)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, help="spread the faults over this many minutes")
    parser.add_argument("--quick", action="store_true", help="the short form (about a minute)")
    parser.add_argument("--postgres", help="a PostgreSQL admin URL, or `auto` (127.0.0.1:5432, trust)")
    parser.add_argument("--rate", type=float, help="commands per second")
    parser.add_argument("--kills", type=int, help="SIGKILLs of services")
    parser.add_argument("--no-upload", action="store_true", help="skip the hostile upload")
    parser.add_argument("--upload-mb", type=int, help="what the hostile XLSX expands to (MB)")
    parser.add_argument("--burst", type=int, help="concurrent requests per burst")
    parser.add_argument("--burst-all", action="store_true", help="a burst against every service")
    parser.add_argument("--keep", type=Path, help="run in this directory and keep it (logs, databases)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(list(argv) if argv is not None else None)
    config = Config.quick() if args.quick else Config()
    changes: dict[str, Any] = {"postgres": find_postgres(args.postgres)}
    for name in ("minutes", "rate", "kills"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.upload_mb is not None:
        changes["upload_mb"] = args.upload_mb
    if args.no_upload:
        changes["upload_mb"] = 0
    if args.burst is not None:
        changes["burst"] = args.burst
    if args.burst_all:
        changes["burst_services"] = DOMAIN_SERVICES
    if args.keep:
        changes["var_dir"] = args.keep
    config = replace(config, **changes)
    result = run_campaign(config)
    print()
    print(
        f"Fault campaign, {date.today().isoformat()}, {os.cpu_count()} cores, {platform.system()}, "
        f"{result.database}"
    )
    print(report(result))
    if args.json:
        figures = {
            key: value for key, value in vars(result).items() if key not in ("config", "http", "bursts")
        }
        figures["bursts"] = [vars(b) for b in result.bursts]
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 1 if result.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
