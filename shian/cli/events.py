"""`shian events`: the event catalogue."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from shian.cli.common import console


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
