"""Benchmark of the web app's pages against the service calls behind them, in one run.

    python bench/web.py                 # 400 page loads, 8 at a time
    python bench/web.py --quick         # 80 page loads, a smoke run
    python bench/web.py --requests 1000 --concurrency 16

Starts the whole system privately (its own Redis, free ports, SQLite under a scratch directory)
with the demo county and accounts, as `make screenshots` does. A village coordinator signs in once
to the web app and once to identity's API; then:

* baseline: the calls a village's start page makes, straight to the services with the bearer token
  (alerts `GET /incidents?state=all`, registry `GET /banquets`), concurrently as the page does not;
* web: `GET /village` through the web process (session lookup in Redis, the same two calls, the
  template rendered).

Prints requests/s, p50 and p99 latency of each and the web process's resident memory; the
difference is the backend-for-frontend's cost per page.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from shian.demo import private_demo_system  # noqa: E402
from shian.launcher import System  # noqa: E402

MOBILE = "13800010000"  # 上村's coordinator
PASSWORD = "Qingyun#2026"


@dataclass(frozen=True)
class Figures:
    name: str
    rps: float
    p50: float
    p99: float


async def measure(name: str, requests: int, concurrency: int, one: Callable[[], Awaitable[None]]) -> Figures:
    times: list[float] = []
    queue = iter(range(requests))

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            await one()
            times.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    times.sort()
    return Figures(
        name=name,
        rps=requests / elapsed,
        p50=statistics.median(times) * 1000,
        p99=times[min(len(times) - 1, int(len(times) * 0.99))] * 1000,
    )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run(system: System, requests: int, concurrency: int) -> None:
    urls = system.urls
    async with httpx.AsyncClient(timeout=60) as api:
        answer = await api.post(f"{urls['identity']}/sessions", json={"mobile": MOBILE, "password": PASSWORD})
        answer.raise_for_status()
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

        async def baseline() -> None:
            incidents, banquets = await asyncio.gather(
                api.get(f"{urls['alerts']}/incidents", params={"state": "all", "limit": 50}, headers=headers),
                api.get(f"{urls['registry']}/banquets", params={"limit": 50}, headers=headers),
            )
            assert incidents.status_code == 200 and banquets.status_code == 200

        async with httpx.AsyncClient(base_url=urls["web"], timeout=60) as web:
            form = await web.get("/signin")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token
            signed = await web.post(
                "/signin", data={"mobile": MOBILE, "password": PASSWORD, "csrf_token": token.group(1)}
            )
            assert signed.status_code == 303, signed.text[:300]

            async def page() -> None:
                answer = await web.get("/village")
                assert answer.status_code == 200, answer.status_code

            for warm in (baseline, page):
                await measure("warm-up", 20, 4, warm)
            results = [
                await measure("baseline: the two service calls", requests, concurrency, baseline),
                await measure("web: GET /village", requests, concurrency, page),
            ]
    print(f"{requests} requests, {concurrency} at a time, on this machine ({len(results)} runs)")
    print(f"{'what':<36} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for row in results:
        print(f"{row.name:<36} {row.rps:>8.1f} {row.p50:>8.1f} {row.p99:>8.1f}")
    web_pid = system.processes["web"].pid
    if web_pid:
        print(f"web process RSS after the run: {rss_mb(web_pid):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="80 requests, a smoke run")
    args = parser.parse_args()
    requests = 80 if args.quick else args.requests
    with private_demo_system("benchweb", access_log=False) as system:
        asyncio.run(run(system, requests, args.concurrency))


if __name__ == "__main__":
    main()
