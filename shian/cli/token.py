"""`shian token`: a bearer token for a role and a place of the county definition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from shared.auth import Role
from shian.cli.common import err, fail, load_settings, refuse_in_production


def token(
    role: Annotated[Role, typer.Option("--role", "-r", help="What the holder may do.", case_sensitive=False)],
    place: Annotated[
        str,
        typer.Option(
            "--place",
            help="The county (county, ops), township (township, inspector) or village (village) "
            "the token belongs to, e.g. qingyun.dongshan.",
        ),
    ],
    subject: Annotated[
        str | None,
        typer.Option("--subject", "-s", help="Who holds it (default: the coordinator or role@place)."),
    ] = None,
    hours: Annotated[
        int | None, typer.Option("--hours", min=1, help="Lifetime (default SHIAN_TOKEN_TTL_HOURS).")
    ] = None,
    county_file: Annotated[
        Path | None,
        typer.Option(
            "--county-file",
            help="County definition (default SHIAN_COUNTY_FILE, else the shipped demo county).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Issue a bearer token; the place's county and township come from the county definition.

    Prints only the token on stdout, so that `TOKEN=$(shian token ...)` works. Development and
    test only: refused with SHIAN_ENV=production.
    """
    from services.registry.places.county import read_county
    from shian.demo import PlaceError, resolve_place, token_for

    refuse_in_production(
        load_settings(),
        "token",
        "it would sign a token for any role and place with the production key; "
        "it is for development and test",
    )
    if role is Role.machine:  # a machine's scopes come with its account, from identity
        raise typer.BadParameter(
            "a machine's token comes from identity: POST /machines, then POST /token", param_hint="'--role'"
        )
    try:
        definition = read_county(county_file)
    except ValueError as error:
        fail(str(error))
    try:
        found = resolve_place(definition, place, role)
    except PlaceError as error:
        raise typer.BadParameter(str(error), param_hint="'--place'") from None
    settings = load_settings()
    ttl = timedelta(hours=hours or settings.token_ttl_hours)
    issued = token_for(settings, found, role, subject=subject, ttl=ttl)
    until = (datetime.now(UTC) + ttl).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    err.print(f"{role.value} token for {found.name} ({found.id}), valid until {until}", highlight=False)
    typer.echo(issued)
