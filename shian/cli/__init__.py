"""`shian`: run, migrate and try the services; issue tokens; look after dead letters.

    shian up                     the whole system on this machine (Redis, five services, the demo)
    shian run registry           one service in the foreground
    shian migrate                bring the databases up to date
    shian token --role township --place qingyun.dongshan
    shian deadletters list       dead letters on the bus; `replay ID...` or `replay --all`
    shian status [--watch]       streams, consumer groups, lag, outbox backlogs, dead letters
    shian events                 the event catalogue
    shian demo                   load the demo county into a running registry
    shian simulate               a seeded county's history through the running system's APIs
    shian screenshots            each journey's main page as a PNG in docs/screenshots/
    shian registry ...           a service's own commands, when it has a services/<name>/cli.py

One module per command group (`serve`: run and migrate; `up`; `token`; `deadletters`; `status`;
`events`; `demo`; `simulate`; `screenshots`; `service_commands` mounts a service's own); `common`
holds what they share.
Process management lives in shian/launcher.py; these modules only parse and print.
"""

from __future__ import annotations

import typer

from shian.cli import (
    deadletters,
    demo,
    events,
    screenshots,
    serve,
    service_commands,
    simulate,
    status,
    token,
    up,
)

app = typer.Typer(
    name="shian",
    help="Shian (食安): county food-safety supervision. Run the services, issue tokens, look after the bus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

# `shian --help` lists the commands in this order (groups such as `deadletters` after them).
app.command()(serve.run)
app.command()(serve.migrate)
app.command()(up.up)
app.command()(token.token)
app.add_typer(deadletters.app, name="deadletters")
app.command()(status.status)
app.command()(events.events)
app.command()(demo.demo)
app.command()(simulate.simulate)
app.command()(screenshots.screenshots)
service_commands.mount(app)


def main() -> None:
    app()
