"""`shian status`: streams, consumer groups, readiness, outbox backlogs and dead letters."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from shian.cli.common import RedisUrlOption, bus_settings, console, with_redis


def status(
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh until Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes (--watch).")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    urls: Annotated[
        list[str] | None,
        typer.Option(
            "--url",
            help="NAME=URL where a service answers (default: the running `shian up`'s, else "
            "127.0.0.1:SHIAN_<SERVICE>_PORT); repeat for each service.",
            show_default=False,
        ),
    ] = None,
    redis_url: RedisUrlOption = None,
) -> None:
    """Every stream and consumer group (length, lag, pending, consumers and their idle time), each
    service's readiness and outbox backlog, and the dead letters."""
    from shian.launcher import read_state
    from shian.status import default_urls, parse_urls, show

    settings = bus_settings(redis_url)
    try:
        where = default_urls(settings, read_state(settings.var_dir)) | parse_urls(urls or [])
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--url'") from None
    with contextlib.suppress(KeyboardInterrupt):  # the way out of --watch
        with_redis(
            settings,
            lambda redis: show(
                redis, settings, where, console, watch=watch, interval=interval, as_json=as_json
            ),
        )
