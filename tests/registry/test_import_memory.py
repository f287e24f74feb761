"""The ledger import against hostile files, on the registry running as its own process: the
answer is a refusal of bounded size within a bounded time, and the process's peak memory (VmHWM)
stays under 300 MB. The process runs under an address-space limit of 4 GiB so that a regression
fails this test instead of exhausting the machine."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.auth import Role, issue_token
from shared.localredis import free_port
from shared.settings import Settings
from tests.support import hostile
from tests.support.county import COUNTY, DEFINITION, DONGSHAN
from tests.support.processes import REPO_ROOT, settings_env, wait_until

PEAK_LIMIT_KB = 300 * 1024
ANSWER_LIMIT = 256 * 1024
REFUSAL_SECONDS = 10.0  # a hostile file is refused from its first look
LEDGER_SECONDS = 45.0  # a ledger of 50,000 rows is read twice and checked (about 12 s unloaded)
ADDRESS_SPACE = 4 * 1024**3


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def peak_rss_kb(pid: int) -> int:
    """VmHWM: the most resident memory the process has had since it started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


@dataclass
class RegistryProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    settings: Settings

    def headers(self, role: Role, township_id: str | None = None) -> dict[str, str]:
        token = issue_token(
            self.settings, subject=f"t-{role.value}", role=role, county_id=COUNTY, township_id=township_id
        )
        return {"Authorization": f"Bearer {token}"}

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@pytest.fixture
def registry_process(settings: Settings, tmp_path: Path) -> Iterator[RegistryProcess]:
    port = free_port()
    env = settings_env(settings)
    env["SHIAN_REGISTRY_PORT"] = str(port)
    env["SHIAN_REGISTRY_DATABASE_URL"] = f"sqlite:///{tmp_path / 'registry.db'}"
    env["SHIAN_HOST"] = "127.0.0.1"
    log = tmp_path / "registry.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.registry"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_limit_memory,
        )
    running = RegistryProcess(process=process, url=f"http://127.0.0.1:{port}", log=log, settings=settings)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the registry exited with {process.returncode}:\n{running.tail()}")
        try:
            return httpx.get(f"{running.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, timeout=60, what="the registry to answer", detail=running.tail)
        answer = httpx.put(
            f"{running.url}/places", json=DEFINITION, headers=running.headers(Role.county), timeout=30
        )
        assert answer.status_code == 200, answer.text
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_hostile_ledgers_are_refused_in_bounded_memory_size_and_time(registry_process: RegistryProcess):
    running = registry_process
    township = running.headers(Role.township, DONGSHAN)
    seen: dict[str, str] = {}
    http = httpx.Client(timeout=120)

    def send(what: str, body: bytes, seconds: float = REFUSAL_SECONDS, **params: object) -> httpx.Response:
        started = time.monotonic()
        answer = http.post(f"{running.url}/imports/businesses", params=params, content=body, headers=township)
        elapsed = time.monotonic() - started
        peak = peak_rss_kb(running.process.pid) // 1024
        seen[what] = f"{answer.status_code}, {len(answer.content)} B, {elapsed:.1f} s, peak RSS {peak} MB"
        assert len(answer.content) < ANSWER_LIMIT, (what, len(answer.content))
        assert elapsed < seconds, (what, elapsed)
        return answer

    uploads = {
        "a 1 GiB shared string in a 1 MB workbook": (
            hostile.shared_strings_bomb(1024),
            "xlsx",
            "sharedStrings",
        ),
        "5 million bad CSV rows (30 MB)": (hostile.many_rows_csv(5_000_000), "csv", "more than 50000 rows"),
        "a row of a million cells": (hostile.huge_row(1_000_000), "xlsx", "more than 1000 cells"),
        "cells nested 100,000 deep": (hostile.deep_nesting(100_000), "xlsx", "nested deeper than 64"),
    }
    with http:
        for what, (body, fmt, expected) in uploads.items():
            answer = send(what, body, format=fmt)
            assert answer.status_code in (413, 422), (
                what,
                answer.status_code,
                answer.text[:500],
                running.tail(),
            )
            [detail] = answer.json()["detail"]
            assert detail["loc"][-1] == "file" and expected in detail["msg"], (what, detail)

        # at the limit: 50,000 bad rows answer with their count and the first 200, the rest downloadable
        answer = send("50,000 bad rows (26 MB)", hostile.full_ledger_csv(50_000, good=False), LEDGER_SECONDS)
        assert answer.status_code == 200, answer.text[:500]
        report = answer.json()
        assert (report["rows"], report["rejected_rows"], report["rejected_count"]) == (
            50_000,
            50_000,
            100_000,
        )
        assert len(report["rejected"]) == 200
        download = http.get(f"{running.url}{report['rejections_url']}", headers=township)
        assert download.status_code == 200 and download.text.count("\n") == 1 + 100_000

        # and 50,000 good rows are all accepted (a dry run: writing them is the benchmark's business)
        answer = send(
            "50,000 good rows, dry run",
            hostile.full_ledger_csv(50_000, good=True),
            LEDGER_SECONDS,
            dry_run=True,
        )
        assert answer.status_code == 200 and answer.json()["accepted"] == 50_000, answer.text[:500]

        # the service is still whole: a real ledger goes through
        answer = send("a real ledger", "名称,类型,所在村\n好味餐馆,餐饮单位,上村\n".encode())
        assert answer.status_code == 200 and answer.json()["imported"] == 1, answer.text
    peak = peak_rss_kb(running.process.pid)
    print("\n".join(f"{what}: {figures}" for what, figures in seen.items()))
    assert peak < PEAK_LIMIT_KB, f"peak RSS {peak // 1024} MB: {seen}"
