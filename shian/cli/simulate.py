"""`shian simulate`: a seeded county's history played through the running system's APIs."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from shian.cli.common import console, fail, load_settings, refuse_in_production

if TYPE_CHECKING:
    from shian.simulate.driver import Progress


class ScaleName(StrEnum):
    small = "small"
    county = "county"


def simulate(
    scale: Annotated[
        ScaleName,
        typer.Option(
            help="small: the demo county with 200 businesses more; "
            "county: 20 townships, 400 villages, 20,000 businesses"
        ),
    ] = ScaleName.small,
    seed: Annotated[int, typer.Option(help="The same seed gives the same county and the same days.")] = 1,
    days: Annotated[
        int | None,
        typer.Option(min=1, max=3660, help="Days of history up to today (default: 182 small, 365 county)"),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Commands in flight at once")] = 8,
) -> None:
    """Play a seeded county's history (businesses, licences, staff, inspections, rectification,
    complaints, campaigns, banquets, incidents, publicity, trainings) into the running `shian up`
    through its HTTP APIs, printing the day reached and events per second. Playing the same
    seed, scale and days again adds nothing. Refused with SHIAN_ENV=production."""
    from shian.launcher import read_state
    from shian.simulate.driver import SimulationError
    from shian.simulate.history import load_history, plan_for

    settings = load_settings()
    refuse_in_production(settings, "simulate", "it would invent businesses and incidents in the real records")
    urls = read_state(settings.var_dir).get("urls") or {}
    urls = {
        name: urls.get(name) or f"http://127.0.0.1:{settings.port(name)}"
        for name in ("registry", "inspection", "alerts", "reporting")
    }
    plan = plan_for(scale.value, seed, days or (182 if scale is ScaleName.small else 365))
    console.print(
        f"{plan.county.name}: {len(plan.events):,} commands over {plan.days} days "
        f"({plan.start} to {plan.last_day}), seed {seed}",
        highlight=False,
    )

    def show(progress: Progress) -> None:
        console.print(
            f"  {progress.sent:,}/{progress.total:,} commands, day {progress.day + 1}/{plan.days} "
            f"({plan.date_of(progress.day)}), {progress.rate:,.0f}/s",
            highlight=False,
        )

    try:
        result = load_history(urls, settings, plan, concurrency=concurrency, on_progress=_every(show, 2.0))
    except SimulationError as error:
        fail(str(error))
    if not result.played:
        console.print(f"already played: the register holds {plan.marker()}; nothing sent.", highlight=False)
        return
    truth = plan.truth
    rate = result.sent / max(result.seconds, 1e-9)
    console.print(
        f"[green]✓[/] {result.sent:,} commands in {result.seconds:.0f} s ({rate:,.0f}/s): "
        f"{truth.inspections:,} inspections ({truth.failed_inspections:,} failed), "
        f"{sum(truth.incidents.values())} incidents, "
        f"{truth.banquets:,} banquets ({truth.banquets_late} late), "
        f"{truth.open_past_deadline} orders past their deadline",
        highlight=False,
    )


def _every(show: Callable[[Progress], None], seconds: float) -> Callable[[Progress], None]:
    """`show`, at most once every `seconds`, and at the end."""
    last = [0.0]

    def maybe(progress: Progress) -> None:
        now = time.monotonic()
        if now - last[0] >= seconds or progress.sent == progress.total:
            last[0] = now
            show(progress)

    return maybe
