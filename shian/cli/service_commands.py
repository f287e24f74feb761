"""`shian <service> ...`: the commands a service ships in its own `services/<name>/cli.py`."""

from __future__ import annotations

import importlib
import importlib.util

import typer

from shared.settings import SERVICE_NAMES


def mount(app: typer.Typer) -> None:
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
