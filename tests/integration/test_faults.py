"""The fault campaign's short form: the whole system under a steady workload while services are
killed and Redis restarts, audited against the ground truth of what the clients saw accepted.

`make faults` (bench/faults.py) is the long campaign; this runs the same code for about a minute
(4 kills, one of them inspection's while incidents name businesses it has not heard of; 1 Redis
restart; a 100-request burst) and holds it to the same targets.

The reordering check fails until inspection's handlers park an `incident.reported` whose
business they do not know yet (README, "Measured: faults"): that is the finding, not noise.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "faults.py"


def _faults() -> ModuleType:
    """bench/faults.py, imported by path (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("shian_bench_faults", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def test_a_short_campaign_loses_nothing_duplicates_nothing_and_converges(tmp_path: Path) -> None:
    faults = _faults()
    lines: list[str] = []
    started = time.monotonic()
    result = faults.run_campaign(faults.Config.quick(var_dir=tmp_path), log=lines.append)
    elapsed = time.monotonic() - started
    summary = "\n".join(lines) + "\n" + faults.report(result) + f"\n(campaign {elapsed:.0f}s)"
    assert result.accepted > 100, summary
    assert result.kills >= 4 and result.redis_restarts >= 1, summary
    assert not result.lost, summary
    assert not result.duplicated, summary
    assert not result.dropped, summary
    assert result.deadletters == 0, summary
    assert result.stuck == 0, summary
    assert not result.server_errors, summary
    assert result.converge_seconds is not None and result.converge_seconds < 60, summary
    assert result.failures() == [], summary
