"""Benchmark: a seeded county slice living its days through the whole running system.

    python bench/county.py            # 1,000 businesses in 4 townships, a year (~5,700 commands)
    python bench/county.py --quick    # 300 businesses, 60 days: under two minutes

The five services as processes (`shian.launcher.System`, as `shian up` starts them) on a private
Redis and SQLite files in a temporary directory. The plan is `shian.simulate`'s (the same code as
`shian simulate` and `make run`'s demo history), played through the HTTP APIs with each role's
token, 8 commands in flight. Meanwhile a probe records, one after another, an inspection (to
inspection) and a banquet filing (to registry) and times each from its accepted answer to the
moment reporting's read model counts it (`GET /statistics/{township}/records/...`, polled every
20 ms). Baseline in the same run, on the same Redis: a raw redis-py round trip, XADD then
XREADGROUP and XACK of an event-sized entry.

Figures: commands/s overall; per API, the commands accepted, their rate while that API had
commands in flight, and p50/p99 of the time to the answer; the probes' delay p50/p99; the baseline's.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/county.py` from a checkout
    sys.path.insert(0, str(REPO_ROOT))

import redis  # noqa: E402

from services.registry.places.county import read_county  # noqa: E402
from shared.auth import Role, issue_token  # noqa: E402
from shared.clock import local_today  # noqa: E402
from shared.localredis import free_port  # noqa: E402
from shared.settings import DOMAIN_SERVICES, Settings  # noqa: E402
from shian.launcher import System  # noqa: E402
from shian.simulate.driver import Player, Progress, load_places  # noqa: E402
from shian.simulate.plan import Plan, Scale, make_plan, simulated_county  # noqa: E402

SECRET = "county-bench-" + "5a17" * 10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def busy_seconds(intervals: list[tuple[float, float]]) -> float:
    """The length of the union of the intervals: the time an API had a command in flight."""
    total, end = 0.0, float("-inf")
    for begin, finish in sorted(intervals):
        if begin > end:
            total += finish - begin
            end = finish
        elif finish > end:
            total += finish - end
            end = finish
    return total


class TimedPlayer(Player):
    """The simulator's player, keeping each command's (service, sent, answered) as well."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spans: dict[str, list[tuple[float, float]]] = {}

    async def send(self, http: httpx.AsyncClient, event: Any) -> None:
        began = time.monotonic()
        await super().send(http, event)
        service = self.request(event)[0]
        self.spans.setdefault(service, []).append((began, time.monotonic()))


class Probe(threading.Thread):
    """One command at a time, each timed until reporting's read model counts it."""

    def __init__(self, system: System, plan: Plan, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.system, self.plan, self.stop_event = system, plan, stop
        township = plan.county.townships[0]
        self.township, self.village = township.id, township.villages[0].id
        settings = system.settings

        def header(role: Role, village: str | None = None) -> dict[str, str]:
            token = issue_token(
                settings,
                subject=f"probe-{role.value}",
                role=role,
                county_id=plan.county.id,
                township_id=None if role is Role.county else self.township,
                village_id=village,
                ttl=timedelta(hours=6),
            )
            return {"Authorization": f"Bearer {token}"}

        self.township_h, self.inspector_h = header(Role.township), header(Role.inspector)
        self.village_h, self.county_h = header(Role.village, self.village), header(Role.county)
        self.delays: dict[str, list[float]] = {"inspection": [], "banquet": []}
        self.errors: list[str] = []
        self.http = httpx.Client(timeout=60)
        self.business = ""
        self.minimum = 10

    def url(self, service: str, path: str) -> str:
        return self.system.urls[service] + path

    def counted(self, key: str) -> int:
        today = local_today().isoformat()
        answer = self.http.get(
            self.url("reporting", f"/statistics/{self.township}/records/{key}"),
            params={"from": today, "to": today, "limit": 1},
            headers=self.county_h,
        )
        answer.raise_for_status()
        return int(answer.json()["total"])

    def prepare(self) -> None:
        """The probe's business, once reporting has heard of the township (its places come over
        the bus: until then it knows no token of the township)."""
        deadline = time.monotonic() + 120
        while True:
            try:
                self.counted("inspections.total")
                break
            except httpx.HTTPStatusError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        answer = self.http.post(
            self.url("registry", "/businesses"),
            json={"name": f"探针饭店{uuid.uuid4().hex[:6]}", "kind": "catering", "village_id": self.village},
            headers=self.township_h,
        )
        answer.raise_for_status()
        self.business = answer.json()["id"]
        from services.inspection.checklists import templates

        template = templates.template_for("catering", on=local_today())
        assert template is not None
        self.items = [{"code": item.code, "result": "pass"} for item in template.items]

    def command(self, kind: str) -> httpx.Response:
        if kind == "inspection":
            body = {
                "business_id": self.business,
                "kind": "routine",
                "inspectors": ["探针"],
                "items": self.items,
            }
            return self.http.post(self.url("inspection", "/inspections"), json=body, headers=self.inspector_h)
        body = {
            "village_id": self.village,
            "host": "探针家",
            "occasion": "birthday",
            "held_on": (local_today() + timedelta(days=5)).isoformat(),
            "venue": "村委会",
            "tables": 6,
            "people": 60,
            "cook": {"name": "探针师傅", "health_status": "certified"},
            "food_sources": ["镇农贸市场"],
        }
        return self.http.post(self.url("registry", "/banquets"), json=body, headers=self.village_h)

    def one(self, kind: str) -> None:
        key = "inspections.total" if kind == "inspection" else "banquets.filed"
        before = self.counted(key)
        answer = self.command(kind)
        accepted = time.monotonic()
        if answer.status_code == 422 and "business" in answer.text:
            time.sleep(0.2)  # the probe business has not reached inspection's directory yet
            return
        if not answer.is_success:
            self.errors.append(f"{kind}: {answer.status_code} {answer.text[:200]}")
            return
        deadline = accepted + 60
        while time.monotonic() < deadline:
            if self.counted(key) > before:
                self.delays[kind].append(time.monotonic() - accepted)
                return
            time.sleep(0.02)
        self.errors.append(f"{kind}: not counted by reporting within 60 s")

    def run(self) -> None:
        """Probes while the plan is played, then on until each kind has `minimum` samples."""
        try:
            turn = 0
            while not (self.stop_event.is_set() and min(map(len, self.delays.values())) >= self.minimum):
                self.one(("inspection", "banquet")[turn % 2])
                turn += 1
                time.sleep(0.3)
        except Exception as error:  # a bench reports, it does not hide
            self.errors.append(f"probe stopped: {error!r}")


def redis_round_trips(url: str, count: int) -> list[float]:
    """Raw redis-py: XADD an event-sized entry, XREADGROUP it, XACK it; seconds per round trip."""
    client = redis.Redis.from_url(url)
    stream = f"bench-county-baseline-{uuid.uuid4().hex[:8]}"
    client.xgroup_create(stream, "g", id="0", mkstream=True)
    body = {"envelope": "x" * 300}
    seen = []
    try:
        for _ in range(count):
            began = time.perf_counter()
            client.xadd(stream, body)
            got = client.xreadgroup("g", "c", {stream: ">"}, count=1, block=1000)
            client.xack(stream, "g", got[0][1][0][0])
            seen.append(time.perf_counter() - began)
    finally:
        client.delete(stream)
        client.close()
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 businesses, 60 days")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--businesses", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    businesses = args.businesses or (300 if args.quick else 1000)
    days = args.days or (60 if args.quick else 365)
    scale = Scale(
        "bench",
        townships=2 if args.quick else 4,
        villages_per_township=10,
        businesses=businesses,
        incidents_per_year=max(12, businesses // 100),
    )
    demo = read_county()  # the county a deployment serves by default: the townships join it
    county = simulated_county(scale, args.seed, county_id=demo.id, county_name=demo.name)
    plan = make_plan(seed=args.seed, scale=scale, county=county, last_day=local_today(), days=days)
    load = os.getloadavg()[0]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"bench/county.py: {stamp}, {os.cpu_count()} CPUs, load average {load:.1f}, "
        f"Python {platform.python_version()}"
    )
    villages = scale.townships * scale.villages_per_township
    print(
        f"plan: seed {args.seed}, {scale.townships} townships, {villages} "
        f"villages, {businesses:,} businesses, {days} days: {len(plan.events):,} commands"
    )
    work = Path(tempfile.mkdtemp(prefix="shian-county-bench-"))
    env = {
        "SHIAN_ENV": "test",
        "SHIAN_SECRET_KEY": SECRET,
        "SHIAN_STREAM_PREFIX": f"county{uuid.uuid4().hex[:8]}",
        "SHIAN_RATE_LIMIT_PER_MINUTE": "0",  # a load test: the simulator sends as fast as it is answered
    }
    for name in DOMAIN_SERVICES:
        env[f"SHIAN_{name.upper()}_DATABASE_URL"] = f"sqlite:///{work / f'{name}.db'}"
    system = System(
        var_dir=work / "var",
        redis_url=None,
        ports={name: free_port() for name in DOMAIN_SERVICES},
        env=env,
        services=DOMAIN_SERVICES,
    )
    stop = threading.Event()
    try:
        system.start()
        system.wait_ready(timeout=180)
        settings: Settings = system.settings
        load_places(system.urls["registry"], settings, plan.county)
        last = [0.0]

        def show(progress: Progress) -> None:
            if time.monotonic() - last[0] > 5 or progress.sent == progress.total:
                last[0] = time.monotonic()
                print(
                    f"  {progress.sent:,}/{progress.total:,} commands, day {progress.day + 1}/{days} "
                    f"({plan.date_of(progress.day)}), {progress.rate:,.0f}/s",
                    flush=True,
                )

        player = TimedPlayer(plan, system.urls, settings, concurrency=args.concurrency, on_progress=show)
        probe = Probe(system, plan, stop)
        probe.minimum = 10 if args.quick else 30
        probe.prepare()
        probe.start()
        began = time.monotonic()
        progress = player.play()
        elapsed = time.monotonic() - began
        stop.set()
        probe.join(timeout=180)
        probe.http.close()
        baseline = redis_round_trips(system.redis_url or "", 500 if args.quick else 2000)
    finally:
        stop.set()
        system.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"played {progress.sent:,} commands in {elapsed:.1f} s: {progress.sent / elapsed:,.1f} commands/s "
        f"({progress.retries} retries)"
    )
    print(f"per API ({args.concurrency} in flight): commands, accepted/s while busy, ms to the answer")
    for service in ("registry", "inspection", "alerts", "reporting"):
        latencies = [1000 * (end - start) for start, end in player.spans.get(service, [])]
        if not latencies:
            continue
        rate = len(latencies) / busy_seconds(player.spans[service])
        print(
            f"  {service:<11} n={len(latencies):>6,}  {rate:>7.1f}/s  "
            f"p50 {statistics.median(latencies):7.1f}  p99 {percentile(latencies, 0.99):7.1f}"
        )
    print("delay from a command's answer to reporting's read model counting it, ms (probes during the run):")
    for kind, values in probe.delays.items():
        ms = [1000 * v for v in values]
        if ms:
            p50, p99 = statistics.median(ms), percentile(ms, 0.99)
            print(f"  {kind:<11} -> reporting  n={len(ms):>4}  p50 {p50:7.1f}  p99 {p99:7.1f}")
    ms = [1000 * v for v in baseline]
    print(
        f"baseline: raw redis-py XADD -> XREADGROUP -> XACK on the same Redis  n={len(ms):>4}  "
        f"p50 {statistics.median(ms):7.2f}  p99 {percentile(ms, 0.99):7.2f}"
    )
    for error in probe.errors[:5]:
        print(f"probe: {error}")
    return 1 if probe.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
