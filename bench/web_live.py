"""Benchmark of the console's live updates: from a change of an incident to its row in the open
consoles, against the same change reaching the alerts stream, in one run.

    python bench/web_live.py              # 100 changes, 18 open consoles
    python bench/web_live.py --quick      # 20 changes

Starts the whole system privately (its own Redis, free ports, SQLite), with the demo county and
accounts. 18 consoles hold `GET /incidents/stream` open: the county office, 东山镇's office and
西水乡's office, six each (the per-user bound). 上村's coordinator reports one incident; then 东山镇's
office updates its counts, one change at a time, through alerts' API. For each change:

* baseline: the moment a raw Redis client blocked on the alerts stream (XREAD) sees its event
  (the service's commit, its outbox relay and Redis);
* web: the moment each of the 12 consoles that see 东山镇 receives the row with the new count
  (the web process's consumer group, the incident read again through alerts per scope group, the
  row rendered, the event written to each stream).

Prints p50 and p99 of both from the answer of the API call, checks that 西水乡's consoles received
no row, and the web process's resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from shian.demo import private_demo_system  # noqa: E402
from shian.launcher import System  # noqa: E402

PASSWORD = "Qingyun#2026"
COORDINATOR, COUNTY, DONGSHAN, XISHUI = "13800010000", "13800000001", "13800000100", "13800000101"
PER_USER = 6


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


async def web_client(url: str, mobile: str) -> httpx.AsyncClient:
    web = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(60, read=None))
    form = await web.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    signed = await web.post(
        "/signin", data={"mobile": mobile, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert signed.status_code == 303, signed.text[:300]
    return web


async def token_of(api: httpx.AsyncClient, url: str, mobile: str) -> dict[str, str]:
    answer = await api.post(f"{url}/sessions", json={"mobile": mobile, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def run(system: System, changes: int) -> None:
    urls = system.urls
    arrivals: dict[tuple[str, int], list[float]] = {}  # (who, ill count) -> arrival times
    ready = asyncio.Event()
    opened = 0

    async def console(web: httpx.AsyncClient, who: str) -> None:
        nonlocal opened
        async with web.stream("GET", "/incidents/stream") as answer:
            assert answer.status_code == 200, answer.status_code
            opened += 1
            if opened == 3 * PER_USER:
                ready.set()
            async for line in answer.aiter_lines():
                found = re.search(r"发病 (\d+) 人", line)
                if line.startswith("data:") and found:
                    arrivals.setdefault((who, int(found.group(1))), []).append(time.perf_counter())

    async with httpx.AsyncClient(timeout=60) as api:
        coordinator = await token_of(api, urls["identity"], COORDINATOR)
        office = await token_of(api, urls["identity"], DONGSHAN)
        clients = {
            who: [await web_client(urls["web"], mobile) for _ in range(PER_USER)]
            for who, mobile in (("county", COUNTY), ("dongshan", DONGSHAN), ("xishui", XISHUI))
        }
        tasks = [asyncio.create_task(console(web, who)) for who, webs in clients.items() for web in webs]
        await asyncio.wait_for(ready.wait(), 30)
        me = (await api.get(f"{urls['identity']}/accounts/me", headers=coordinator)).json()
        reported = await api.post(
            f"{urls['alerts']}/incidents",
            headers=coordinator,
            json={
                "township_id": me["township_id"],
                "village_id": me["village_id"],
                "place_kind": "canteen",
                "ill_count": 2,
                "description": "食堂午餐后腹泻",
            },
        )
        assert reported.status_code == 201, reported.text
        incident = reported.json()["id"]
        redis = Redis.from_url(system.settings.redis_url)
        stream = system.settings.stream("alerts")
        newest: Any = await redis.xrevrange(stream, count=1)
        last: Any = newest[0][0]
        await asyncio.sleep(1)
        baseline: list[float] = []
        web: list[float] = []
        for number in range(changes):
            ill = 3 + number % 20  # stays below IV: no escalation between the changes
            answer = await api.patch(
                f"{urls['alerts']}/incidents/{incident}/counts", headers=office, json={"ill_count": ill}
            )
            assert answer.status_code == 200, answer.text
            answered = time.perf_counter()
            while True:  # the baseline: the event on the stream
                got: Any = await redis.xread({stream: last}, count=100, block=5000)
                if got:
                    last = got[0][1][-1][0]
                    baseline.append(time.perf_counter() - answered)
                    break
            deadline = time.perf_counter() + 10
            while (
                len(arrivals.get(("county", ill), [])) + len(arrivals.get(("dongshan", ill), []))
                < 2 * PER_USER
            ):
                if time.perf_counter() > deadline:
                    raise SystemExit(f"change {number}: not every console got it within 10 s")
                await asyncio.sleep(0.002)
            for who in ("county", "dongshan"):
                web.extend(moment - answered for moment in arrivals.pop((who, ill)))
            await asyncio.sleep(0.05)
        leaked = [key for key in arrivals if key[0] == "xishui"]
        for task in tasks:
            task.cancel()
        await redis.aclose()
        for webs in clients.values():
            for client in webs:
                await client.aclose()
    print(f"{changes} count updates of one incident, {3 * PER_USER} open consoles (12 see it), this machine")
    print(f"{'from the API answer to':<52} {'p50 ms':>8} {'p99 ms':>8}")
    base = "baseline: the event read from the alerts stream"
    print(f"{base:<52} {pct(baseline, 0.5):>8.1f} {pct(baseline, 0.99):>8.1f}")
    print(f"{'web: the row in each of the 12 consoles':<52} {pct(web, 0.5):>8.1f} {pct(web, 0.99):>8.1f}")
    mean = statistics.mean(web) * 1000
    print(f"rows received by 西水乡's consoles: {len(leaked)}; mean of web: {mean:.1f} ms")
    pid = system.processes["web"].pid
    if pid:
        print(f"web process RSS after the run: {rss_mb(pid):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="20 changes, a smoke run")
    args = parser.parse_args()
    with private_demo_system("benchlive", access_log=False) as system:
        asyncio.run(run(system, 20 if args.quick else args.changes))


if __name__ == "__main__":
    main()
