"""`shian run` and `shian migrate`: one service in the foreground, the databases' schema."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from shared.settings import DATA_SERVICES
from shian.cli.common import ServiceName, console, load_settings


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

    load_settings()  # a clear message instead of a traceback when a SHIAN_* value is wrong
    run_service(str(service), port=port)


def migrate(
    services: Annotated[
        list[ServiceName] | None,
        typer.Argument(help="Services to migrate (default: all five).", show_default=False),
    ] = None,
) -> None:
    """Bring services' databases to the newest schema (alembic upgrade head)."""
    from shared.runner import migrate as migrate_service

    settings = load_settings()
    for name in [str(s) for s in services] if services else DATA_SERVICES:
        if name not in DATA_SERVICES:  # the web process has no database
            continue
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
