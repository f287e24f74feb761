"""`shian deadletters list|replay`: the events set aside on the dead-letter stream."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shian.cli.common import RedisUrlOption, bus_settings, console, fail, with_redis

app = typer.Typer(
    help="Events that failed too often and were set aside on the dead-letter stream.",
    no_args_is_help=True,
)


@app.command("list")
def deadletters_list(
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="At most this many, oldest first.")
    ] = 100,
    redis_url: RedisUrlOption = None,
) -> None:
    """List dead letters: which stream and consumer group, the event, deliveries and last error."""
    from shared.bus import list_deadletters

    settings = bus_settings(redis_url)
    letters = with_redis(settings, lambda redis: list_deadletters(redis, settings, limit=limit))
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


@app.command("replay")
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
    settings = bus_settings(redis_url)
    replayed = with_redis(
        settings, lambda redis: replay_deadletters(redis, settings, None if replay_all else ids)
    )
    console.print(f"Replayed {len(replayed)} dead letter(s){': ' + ', '.join(replayed) if replayed else '.'}")
    missing = sorted(set(ids or ()) - set(replayed))
    if missing:
        fail(f"not found (or not replayable): {', '.join(missing)}")
