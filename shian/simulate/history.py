"""A county's history played into a running system once: the places, then the plan, unless the
register already holds the plan's first business (a second `make run` on the same var/ adds
nothing). Used by `shian simulate` and by `shian up --demo`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from services.registry.places.models import CountyDefinition
from shared.clock import local_today
from shared.settings import Settings
from shian.demo import refuse_in_production
from shian.simulate.driver import Player, Progress, already_played, load_places
from shian.simulate.plan import SCALES, Plan, make_plan, simulated_county

DEMO_SEED = 2026
DEMO_DAYS = 182  # half a year


@dataclass(frozen=True)
class HistoryResult:
    plan: Plan
    played: bool  # False: it was there already
    sent: int
    seconds: float
    replayed: int


def plan_for(
    scale: str, seed: int, days: int, *, definition: CountyDefinition | None = None, today: date | None = None
) -> Plan:
    """The plan of a scale: `small` in the given county's own places (default: the county file's,
    else the demo county), `county` in 20 simulated townships of that county."""
    chosen = SCALES[scale]
    if definition is None:
        from services.registry.places.county import read_county

        definition = read_county()
    if chosen.townships == 0:
        county = definition
    else:  # the deployment's own county, with simulated townships (places are never deleted)
        county = simulated_county(chosen, seed, county_id=definition.id, county_name=definition.name)
    return make_plan(seed=seed, scale=chosen, county=county, last_day=today or local_today(), days=days)


def load_history(
    urls: dict[str, str],
    settings: Settings,
    plan: Plan,
    *,
    concurrency: int = 8,
    on_progress: Callable[[Progress], None] | None = None,
) -> HistoryResult:
    """Play `plan` into the system at `urls` unless it was played there before. Refused in
    production: it invents businesses and incidents."""
    refuse_in_production(settings, "simulating a county")
    began = time.monotonic()
    load_places(urls["registry"], settings, plan.county)
    if already_played(urls["registry"], settings, plan):
        return HistoryResult(plan=plan, played=False, sent=0, seconds=time.monotonic() - began, replayed=0)
    player = Player(plan, urls, settings, concurrency=concurrency, on_progress=on_progress)
    progress = player.play()
    return HistoryResult(
        plan=plan,
        played=True,
        sent=progress.sent,
        seconds=time.monotonic() - began,
        replayed=progress.replayed,
    )
