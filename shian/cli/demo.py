"""`shian demo`: the demo county loaded into a running registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shian.cli.common import console, fail, load_settings, refuse_in_production


def demo(
    registry_url: Annotated[
        str | None,
        typer.Option(
            help="The registry (default: the running `shian up`'s, else 127.0.0.1:SHIAN_REGISTRY_PORT)."
        ),
    ] = None,
    county_file: Annotated[
        Path | None,
        typer.Option(
            help="County definition (default SHIAN_COUNTY_FILE, else the demo county).", show_default=False
        ),
    ] = None,
) -> None:
    """Load the demo county into a running registry over HTTP (places, then businesses if none yet).
    Refused with SHIAN_ENV=production."""
    from services.registry.places.county import read_county
    from shian.demo import DemoError, load_demo
    from shian.launcher import read_state

    settings = load_settings()
    refuse_in_production(settings, "demo", "it would register invented businesses in the real register")
    url = registry_url or read_state(settings.var_dir).get("urls", {}).get("registry")
    url = url or f"http://127.0.0.1:{settings.port('registry')}"
    try:
        definition = read_county(county_file)
        result = load_demo(url, settings, definition=definition)
    except (ValueError, DemoError) as error:
        fail(str(error))
    if result.skipped_businesses:
        console.print(
            f"{definition.name}: {result.places_changed} places changed; the register already holds "
            f"{result.businesses_before} businesses, none added."
        )
    else:
        console.print(
            f"{definition.name}: {result.places_changed} places changed, "
            f"{result.businesses_created} businesses registered at {url}."
        )
