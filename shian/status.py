"""`shian status`: the bus and the services at a glance, for the operations team.

Reads Redis directly (every stream, every consumer group on it, every consumer in the group) and
each service's /metrics (its outbox backlog and parked events, which live in the service's own
database and are measured by its relay and consumers) and /readyz. Nothing here writes anything:
running it is always safe.

    snapshot = await take_snapshot(redis, settings, urls)
    console.print(render(snapshot))
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from redis.exceptions import RedisError, ResponseError
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from shared.settings import DATA_SERVICES, SERVICE_NAMES, Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

LAG_SCAN_LIMIT = 10_000  # Redis < 7 reports no lag: count at most this many undelivered entries
DEADLETTER_SCAN_LIMIT = 10_000  # newest dead letters grouped by stream and group
HTTP_TIMEOUT = 3.0


@dataclass(frozen=True)
class ConsumerStatus:
    name: str
    pending: int
    idle_seconds: float


@dataclass(frozen=True)
class GroupStatus:
    name: str
    lag: int | None  # None: Redis could not tell (entries deleted from the middle of the stream)
    lag_capped: bool  # counted by scanning and stopped at LAG_SCAN_LIMIT
    pending: int
    last_delivered_id: str
    consumers: list[ConsumerStatus]


@dataclass(frozen=True)
class StreamStatus:
    name: str
    exists: bool
    length: int
    last_entry_id: str | None
    groups: list[GroupStatus]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    url: str
    ready: bool
    readiness: str  # "ok", or what is wrong (a failed check, an unreachable service)
    outbox_backlog: int | None  # None: not measured (service unreachable, relay not run yet)
    outbox_oldest_age_seconds: float | None
    # events waiting for a record another event creates (shared/parking.py); None: not measured
    events_parked: int | None = None
    events_parked_oldest_age_seconds: float | None = None


@dataclass(frozen=True)
class DeadLetterCount:
    stream: str
    group: str
    count: int


@dataclass(frozen=True)
class Snapshot:
    taken_at: datetime
    redis_url: str
    streams: list[StreamStatus]
    services: list[ServiceStatus]
    deadletter_stream: str
    deadletters: int
    deadletters_by_origin: list[DeadLetterCount] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["taken_at"] = self.taken_at.isoformat()
        return data


# --- collecting -----------------------------------------------------------------------------


async def take_snapshot(redis: Redis, settings: Settings, urls: Mapping[str, str]) -> Snapshot:
    """Everything `shian status` shows, read once: the streams from Redis, the rest over HTTP."""
    names = [settings.stream(service) for service in DATA_SERVICES]
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        streams, services, deadletters = await asyncio.gather(
            asyncio.gather(*(stream_status(redis, name) for name in names)),
            asyncio.gather(*(service_status(http, name, url) for name, url in urls.items())),
            deadletter_counts(redis, settings.deadletter_stream),
        )
    total, by_origin = deadletters
    return Snapshot(
        taken_at=datetime.now(UTC),
        redis_url=settings.redis_url,
        streams=list(streams),
        services=list(services),
        deadletter_stream=settings.deadletter_stream,
        deadletters=total,
        deadletters_by_origin=by_origin,
    )


async def stream_status(redis: Redis, stream: str) -> StreamStatus:
    try:
        info = await redis.xinfo_stream(stream)
    except ResponseError as error:  # "no such key": nothing has been published or consumed yet
        if "no such key" in str(error).lower():
            return StreamStatus(stream, exists=False, length=0, last_entry_id=None, groups=[])
        raise
    groups = []
    for group in await redis.xinfo_groups(stream):
        name = _text(group["name"])
        last_delivered = _text(group.get("last-delivered-id") or "0-0")
        lag, capped = await _lag(redis, stream, group, last_delivered)
        consumers = [
            ConsumerStatus(
                name=_text(consumer["name"]),
                pending=int(consumer.get("pending") or 0),
                idle_seconds=int(consumer.get("idle") or 0) / 1000,
            )
            for consumer in await redis.xinfo_consumers(stream, name)
        ]
        groups.append(
            GroupStatus(
                name=name,
                lag=lag,
                lag_capped=capped,
                pending=int(group.get("pending") or 0),
                last_delivered_id=last_delivered,
                consumers=sorted(consumers, key=lambda consumer: consumer.name),
            )
        )
    return StreamStatus(
        name=stream,
        exists=True,
        length=int(info.get("length") or 0),
        last_entry_id=_text(info["last-generated-id"]) if info.get("last-generated-id") else None,
        groups=sorted(groups, key=lambda group: group.name),
    )


async def _lag(redis: Redis, stream: str, group: dict[Any, Any], last: str) -> tuple[int | None, bool]:
    """Redis 7 reports the lag (or nil when it cannot tell); older servers: count by scanning."""
    if "lag" in group:
        lag = group["lag"]
        return (int(lag) if lag is not None else None), False
    after = await redis.xrange(stream, min=f"({last}", count=LAG_SCAN_LIMIT) or []
    return len(after), len(after) >= LAG_SCAN_LIMIT


async def deadletter_counts(redis: Redis, stream: str) -> tuple[int, list[DeadLetterCount]]:
    total = int(await redis.xlen(stream))
    if not total:
        return 0, []
    entries = await redis.xrevrange(stream, count=DEADLETTER_SCAN_LIMIT) or []
    origins = Counter(
        (_text((fields or {}).get(b"stream", b"?")), _text((fields or {}).get(b"group", b"?")))
        for _id, fields in entries
    )
    return total, [DeadLetterCount(s, g, n) for (s, g), n in sorted(origins.items())]


async def service_status(http: httpx.AsyncClient, name: str, url: str) -> ServiceStatus:
    """Readiness from /readyz; the outbox backlog from /metrics (the relay measures it)."""
    try:
        ready_answer, metrics_answer = await asyncio.gather(
            http.get(f"{url}/readyz"), http.get(f"{url}/metrics")
        )
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        return ServiceStatus(name, url, False, f"unreachable: {reason}", None, None)
    ready = ready_answer.status_code == 200
    readiness = "ok" if ready else _failed_checks(ready_answer)
    backlog = oldest = parked = oldest_parked = None
    if metrics_answer.status_code == 200:
        samples = _samples(
            metrics_answer.text,
            {
                "shian_outbox_backlog",
                "shian_outbox_oldest_age_seconds",
                "shian_events_parked",
                "shian_events_parked_oldest_age_seconds",
            },
        )
        backlog_value = samples.get("shian_outbox_backlog")
        backlog = int(backlog_value) if backlog_value is not None else None
        oldest = samples.get("shian_outbox_oldest_age_seconds")
        parked_value = samples.get("shian_events_parked")
        parked = int(parked_value) if parked_value is not None else None
        oldest_parked = samples.get("shian_events_parked_oldest_age_seconds")
    return ServiceStatus(name, url, ready, readiness, backlog, oldest, parked, oldest_parked)


def _failed_checks(answer: httpx.Response) -> str:
    try:
        checks = answer.json().get("checks", {})
    except ValueError:
        return f"HTTP {answer.status_code}"
    failed = [f"{name}: {value}" for name, value in checks.items() if value != "ok"]
    return "; ".join(failed) or f"HTTP {answer.status_code}"


def _samples(text: str, wanted: set[str]) -> dict[str, float]:
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in wanted:
                found[sample.name] = max(found.get(sample.name, 0.0), sample.value)
    return found


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# --- showing --------------------------------------------------------------------------------


def render(snapshot: Snapshot) -> RenderableType:
    """The snapshot as rich tables: streams and groups, consumers, services, dead letters."""
    local = snapshot.taken_at.astimezone()
    heading = Text.assemble(
        ("Shian status ", "bold"),
        f"{local:%Y-%m-%d %H:%M:%S %Z}  Redis {snapshot.redis_url}",
    )
    return Group(
        heading,
        _streams_table(snapshot),
        _consumers_table(snapshot),
        _services_table(snapshot),
        _deadletters_table(snapshot),
    )


def _table(title: str, *columns: str, caption: str | None = None) -> Table:
    """A table whose figure columns (named with a leading `>`) are right-aligned."""
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for column in columns:
        figure = column.startswith(">")
        table.add_column(column.lstrip(">"), justify="right" if figure else "left", overflow="fold")
    return table


def _streams_table(snapshot: Snapshot) -> Table:
    table = _table(
        "Streams and consumer groups", "stream", ">length", "group", ">lag", ">pending", ">consumers"
    )
    for stream in snapshot.streams:
        length = str(stream.length) if stream.exists else "-"
        if not stream.groups:
            table.add_row(stream.name, length, "[dim](no group)[/]", "", "", "")
            continue
        for index, group in enumerate(stream.groups):
            table.add_row(
                stream.name if index == 0 else "",
                length if index == 0 else "",
                escape(group.name),
                _lag_text(group),
                _warn(group.pending),
                str(len(group.consumers)),
            )
    return table


def _lag_text(group: GroupStatus) -> str:
    if group.lag is None:
        return "[yellow]?[/]"
    text = f"≥{group.lag}" if group.lag_capped else str(group.lag)
    return f"[yellow]{text}[/]" if group.lag else text


def _consumers_table(snapshot: Snapshot) -> Table:
    table = _table("Consumers", "stream", "group", "consumer", ">pending", ">idle")
    for stream in snapshot.streams:
        for group in stream.groups:
            for consumer in group.consumers:
                table.add_row(
                    stream.name,
                    escape(group.name),
                    escape(consumer.name),
                    _warn(consumer.pending),
                    format_seconds(consumer.idle_seconds),
                )
    if not table.row_count:
        table.add_row("[dim](no consumer has read yet)[/]", "", "", "", "")
    return table


def _services_table(snapshot: Snapshot) -> Table:
    table = _table(
        "Services",
        "service",
        "url",
        "ready",
        ">outbox backlog",
        ">oldest unpublished",
        ">parked",
        ">oldest parked",
    )
    for service in snapshot.services:
        backlog, oldest = service.outbox_backlog, service.outbox_oldest_age_seconds
        parked, oldest_parked = service.events_parked, service.events_parked_oldest_age_seconds
        table.add_row(
            service.name,
            service.url,
            "[green]ready[/]" if service.ready else f"[red]{escape(service.readiness)}[/]",
            "?" if backlog is None else _warn(backlog),
            "?" if oldest is None else format_seconds(oldest),
            "?" if parked is None else _warn(parked),
            "?" if oldest_parked is None else format_seconds(oldest_parked),
        )
    return table


def _deadletters_table(snapshot: Snapshot) -> Table:
    table = _table(
        f"Dead letters on {snapshot.deadletter_stream}: {snapshot.deadletters}",
        "stream",
        "group",
        ">count",
        caption="list them with `shian deadletters list`" if snapshot.deadletters else None,
    )
    for origin in snapshot.deadletters_by_origin:
        table.add_row(origin.stream, escape(origin.group), f"[red]{origin.count}[/]")
    if not snapshot.deadletters_by_origin:
        table.add_row("[dim](none)[/]", "", "0")
    return table


def _warn(value: int) -> str:
    """A figure that should be zero is shown in yellow when it is not."""
    return f"[yellow]{value}[/]" if value else str(value)


def format_seconds(seconds: float) -> str:
    """Idle times and ages short enough for a table cell: 850ms, 12.5s, 3m05s, 2h10m, 3d04h."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def default_urls(settings: Settings, state: Mapping[str, Any]) -> dict[str, str]:
    """Where the services answer: what a running `shian up` recorded, else 127.0.0.1 and the ports."""
    recorded = state.get("urls") or {}
    return {name: recorded.get(name) or f"http://127.0.0.1:{settings.port(name)}" for name in SERVICE_NAMES}


def parse_urls(items: list[str]) -> dict[str, str]:
    """`NAME=URL` pairs (e.g. `alerts=http://alerts.shian:8003`) naming where services answer."""
    urls = {}
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or name not in SERVICE_NAMES or not url.startswith(("http://", "https://")):
            raise ValueError(f"{item!r}: expected NAME=URL with NAME one of {', '.join(SERVICE_NAMES)}")
        urls[name] = url.rstrip("/")
    return urls


# --- the command ----------------------------------------------------------------------------


async def show(
    redis: Redis,
    settings: Settings,
    urls: Mapping[str, str],
    console: Console,
    *,
    watch: bool = False,
    interval: float = 2.0,
    as_json: bool = False,
) -> None:
    """Print one snapshot; with `watch`, refresh it every `interval` seconds until cancelled.

    In a terminal the tables are redrawn in place; piped or logged, each refresh is printed after
    the last (JSON: one document per line). While watching, a Redis that goes away is reported on
    screen and retried, since that is exactly when someone is looking.
    """
    if not watch:
        _print(console, await take_snapshot(redis, settings, urls), as_json)
        return
    live = Live(console=console, auto_refresh=False) if console.is_terminal and not as_json else None
    if live is not None:
        live.start()
    try:
        while True:
            started = time.monotonic()
            try:
                snapshot: Snapshot | None = await take_snapshot(redis, settings, urls)
                problem = None
            except (RedisError, OSError) as error:
                snapshot, problem = None, f"cannot read Redis at {settings.redis_url}: {error}"
            if live is not None:
                live.update(render(snapshot) if snapshot else Text(problem or "", style="red"), refresh=True)
            elif snapshot is not None:
                _print(console, snapshot, as_json)
            else:
                console.print(Text(problem or "", style="red"))
            await asyncio.sleep(max(interval - (time.monotonic() - started), 0.0))
    finally:
        if live is not None:
            live.stop()


def _print(console: Console, snapshot: Snapshot, as_json: bool) -> None:
    if as_json:
        console.out(json.dumps(snapshot.as_dict(), ensure_ascii=False), highlight=False)
    else:
        console.print(render(snapshot))
