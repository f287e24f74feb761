"""The expiry loop on its own: it scans at start, once per local day, and tries a failed scan again
at its next look; its period comes from RegistryConfig (SHIAN_REGISTRY_EXPIRY_CHECK_SECONDS)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from services.registry.config import RegistryConfig
from services.registry.expiry import scheduler
from shared.clock import ManualClock, local_today
from tests.support.county import START

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_period_is_a_setting_and_is_checked(monkeypatch: pytest.MonkeyPatch):
    assert RegistryConfig().expiry_check_seconds == 60
    monkeypatch.setenv("SHIAN_REGISTRY_EXPIRY_CHECK_SECONDS", "5")
    assert RegistryConfig().expiry_check_seconds == 5
    for wrong in ("0", "-1", "86400", "soon"):
        monkeypatch.setenv("SHIAN_REGISTRY_EXPIRY_CHECK_SECONDS", wrong)
        with pytest.raises(ValidationError):
            RegistryConfig()


def test_every_registry_setting_is_in_the_configuration_table():
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = " ".join(line for line in section.splitlines() if line.startswith("| `SHIAN_"))
    missing = [
        name for name in RegistryConfig.model_fields if f"`SHIAN_REGISTRY_{name.upper()}`" not in documented
    ]
    assert missing == []


def test_one_scan_a_day_and_a_failed_one_is_tried_again(monkeypatch: pytest.MonkeyPatch):
    clock = ManualClock(START)
    scans: list[date] = []
    failures = [RuntimeError("the database is away")]

    def scan(_db: object, *, today: date) -> None:
        scans.append(today)
        if failures:
            raise failures.pop()

    monkeypatch.setattr(scheduler, "scan", scan)
    runtime = SimpleNamespace(clock=clock, db=object())

    async def until(count: int) -> None:
        for _ in range(500):
            if len(scans) >= count:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # ten more looks on the same day, and no more scans

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.create_task(scheduler.expiry_loop(0.01)(runtime, stop))  # type: ignore[arg-type]
        await until(2)  # the scan at start fails, the next look scans again
        clock.advance(timedelta(days=1))
        await until(3)
        stop.set()
        await loop

    asyncio.run(run())
    first = local_today(ManualClock(START))
    assert scans == [first, first, first + timedelta(days=1)]
