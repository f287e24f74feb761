"""`shian screenshots`: each journey's main page as a PNG for the README (shian/screenshots.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shian.cli.common import console, fail


def screenshots(
    out: Annotated[Path, typer.Option(help="Where the PNGs go.")] = Path("docs/screenshots"),
) -> None:
    """Start the system privately with the demo county, and photograph each journey's main page
    in headless chromium (phone 360x740 for people in the field, desktop otherwise)."""
    from shian import screenshots as shots

    try:
        written = shots.run(out)
    except RuntimeError as error:
        fail(str(error))
    for path in written:
        console.print(f"[green]✓[/] {path}", highlight=False)
