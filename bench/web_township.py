"""Benchmark of the township office's pages against the service calls behind them, in one run.

    python bench/web_township.py                 # 200 loads of each, 8 at a time
    python bench/web_township.py --quick         # 40 of each, a smoke run

Starts the whole system privately with the demo county and accounts (as bench/web.py does); the
东山镇 office signs in once to the web app and once to identity's API; then, in the same run:

* baseline: registry `GET /places` then `GET /businesses?limit=20`, straight with the bearer token
  (the two calls the register page makes, in the same order);
* web: `GET /township/businesses` (session from Redis, the same two calls, the table rendered);
* baseline: reporting's DOCX of the half-year summary, straight;
* web: the same DOCX through `GET /township/summary/download.docx` (streamed through).

Prints requests/s, p50 and p99 of each and the web process's resident memory before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from services.web.labels import now_beijing  # noqa: E402
from services.web.township import summary  # noqa: E402
from shian.demo import private_demo_system  # noqa: E402
from shian.launcher import System  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_web", Path(__file__).with_name("web.py"))
assert _spec and _spec.loader
bench_web = importlib.util.module_from_spec(_spec)
sys.modules["bench_web"] = bench_web  # a dataclass needs its module registered
_spec.loader.exec_module(bench_web)

MOBILE = "13800000100"  # 东山镇's office
PASSWORD = "Qingyun#2026"
TOWNSHIP = "qingyun.dongshan"
PERIOD = summary.period_of(None, now_beijing().date())  # this half-year


async def run(system: System, requests: int, concurrency: int) -> None:
    urls = system.urls
    measure = bench_web.measure
    async with httpx.AsyncClient(timeout=120) as api:
        answer = await api.post(f"{urls['identity']}/sessions", json={"mobile": MOBILE, "password": PASSWORD})
        answer.raise_for_status()
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

        async def register_baseline() -> None:
            places = await api.get(f"{urls['registry']}/places", headers=headers)
            found = await api.get(f"{urls['registry']}/businesses", params={"limit": 20}, headers=headers)
            assert places.status_code == 200 and found.status_code == 200

        async def docx_baseline() -> None:
            got = await api.get(
                f"{urls['reporting']}/documents/{TOWNSHIP}/summary",
                params={"format": "docx", "period": PERIOD},
                headers=headers,
            )
            assert got.status_code == 200 and got.content[:2] == b"PK", got.text[:300]

        async with httpx.AsyncClient(base_url=urls["web"], timeout=120) as web:
            form = await web.get("/signin")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token
            signed = await web.post(
                "/signin", data={"mobile": MOBILE, "password": PASSWORD, "csrf_token": token.group(1)}
            )
            assert signed.status_code == 303, signed.text[:300]

            async def register_page() -> None:
                got = await web.get("/township/businesses")
                assert got.status_code == 200, got.status_code

            async def docx_page() -> None:
                got = await web.get("/township/summary/download.docx", params={"period": PERIOD})
                assert got.status_code == 200 and got.content[:2] == b"PK", got.status_code

            for warm in (register_baseline, register_page, docx_baseline, docx_page):
                await measure("warm-up", 10, 2, warm)
            web_pid = system.processes["web"].pid
            before = bench_web.rss_mb(web_pid) if web_pid else 0.0
            documents = max(requests // 5, 8)
            results = [
                await measure("baseline: places + businesses", requests, concurrency, register_baseline),
                await measure("web: GET /township/businesses", requests, concurrency, register_page),
                await measure("baseline: summary DOCX", documents, concurrency, docx_baseline),
                await measure("web: summary DOCX streamed", documents, concurrency, docx_page),
            ]
            after = bench_web.rss_mb(web_pid) if web_pid else 0.0
    print(f"{requests} page loads and {documents} documents each, {concurrency} at a time, on this machine")
    print(f"{'what':<36} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for row in results:
        print(f"{row.name:<36} {row.rps:>8.1f} {row.p50:>8.1f} {row.p99:>8.1f}")
    print(f"web process RSS: {before:.0f} MB before, {after:.0f} MB after")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="40 of each, a smoke run")
    args = parser.parse_args()
    requests = 40 if args.quick else args.requests
    with private_demo_system("benchtownship", access_log=False) as system:
        asyncio.run(run(system, requests, args.concurrency))


if __name__ == "__main__":
    main()
