"""Benchmark of the inspector's pages against the service calls behind them, in one run.

    python bench/inspector.py               # 300 of each, 8 at a time
    python bench/inspector.py --quick       # 60 of each, a smoke run

Starts the whole system privately with the demo county and accounts (as bench/web.py does). 东山镇's
inspector signs in once to the web app and once to identity's API; then, each against its baseline:

* the worklist: inspection `GET /worklist` with the bearer token, against `GET /inspector` through
  the web process (session from Redis, the same call, the page rendered);
* the verdict while ticking the checklist: inspection `POST /inspections/preview`, against the htmx
  fragment `POST /inspector/businesses/{id}/preview` (the business from the registry, the
  checklist in force, the same preview, the fragment rendered), the call a phone makes at each tick.

Prints requests/s, p50 and p99 latency of each and the web process's resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import httpx  # noqa: E402
from web import Figures, measure, rss_mb  # noqa: E402

from shian.demo import private_demo_system  # noqa: E402
from shian.launcher import System  # noqa: E402

MOBILE = "13800000200"  # 东山镇's inspector
PASSWORD = "Qingyun#2026"


async def run(system: System, requests: int, concurrency: int) -> None:
    urls = system.urls
    async with (
        httpx.AsyncClient(timeout=60) as api,
        httpx.AsyncClient(base_url=urls["web"], timeout=60) as web,
    ):
        answer = await api.post(f"{urls['identity']}/sessions", json={"mobile": MOBILE, "password": PASSWORD})
        answer.raise_for_status()
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        work = (await api.get(f"{urls['inspection']}/worklist", headers=headers)).json()
        business = next(item["business_id"] for item in work["items"] if item["business_id"])
        kind = (await api.get(f"{urls['registry']}/businesses/{business}", headers=headers)).json()["kind"]
        checklist = (
            await api.get(
                f"{urls['inspection']}/checklists/current", params={"business_kind": kind}, headers=headers
            )
        ).json()
        codes = [item["code"] for item in checklist["items"]]
        failing = next(item["code"] for item in checklist["items"] if item["key"])
        body = {
            "business_id": business,
            "kind": "routine",
            "inspectors": ["东山镇检查员"],
            "items": [{"code": code, "result": "fail" if code == failing else "pass"} for code in codes],
        }

        form = await web.get("/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token
        signed = await web.post(
            "/signin", data={"mobile": MOBILE, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert signed.status_code == 303, signed.text[:300]
        page = await web.get(f"/inspector/businesses/{business}/inspect")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert csrf
        ticked = {"kind": "routine", "inspectors": "东山镇检查员"}
        ticked |= {f"r-{code}": "fail" if code == failing else "pass" for code in codes}

        async def worklist_direct() -> None:
            assert (await api.get(f"{urls['inspection']}/worklist", headers=headers)).status_code == 200

        async def worklist_page() -> None:
            assert (await web.get("/inspector")).status_code == 200

        async def preview_direct() -> None:
            answer = await api.post(f"{urls['inspection']}/inspections/preview", json=body, headers=headers)
            assert answer.status_code == 200, answer.text

        async def preview_fragment() -> None:
            answer = await web.post(
                f"/inspector/businesses/{business}/preview",
                data=ticked,
                headers={"X-CSRF-Token": csrf.group(1), "HX-Request": "true"},
            )
            assert answer.status_code == 200 and "检查结果" in answer.text, answer.text[:300]

        for warm in (worklist_direct, worklist_page, preview_direct, preview_fragment):
            await measure("warm-up", 10, 4, warm)
        results: list[Figures] = [
            await measure("baseline: inspection GET /worklist", requests, concurrency, worklist_direct),
            await measure("web: GET /inspector", requests, concurrency, worklist_page),
            await measure("baseline: POST /inspections/preview", requests, concurrency, preview_direct),
            await measure("web: the verdict fragment", requests, concurrency, preview_fragment),
        ]
    print(f"{requests} requests each, {concurrency} at a time, on this machine")
    print(f"{'what':<40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for row in results:
        print(f"{row.name:<40} {row.rps:>8.1f} {row.p50:>8.1f} {row.p99:>8.1f}")
    web_pid = system.processes["web"].pid
    if web_pid:
        print(f"web process RSS after the run: {rss_mb(web_pid):.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="60 requests each, a smoke run")
    args = parser.parse_args()
    requests = 60 if args.quick else args.requests
    with private_demo_system("benchinsp", access_log=False) as system:
        asyncio.run(run(system, requests, args.concurrency))


if __name__ == "__main__":
    main()
