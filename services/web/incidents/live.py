"""Live updates of the console: the alerts stream, read by this web process's own consumer group,
fanned out to the open consoles as server-sent events.

* The web process reads `shian.alerts` with its own consumer group (`web.<host>.<port>`, or
  `SHIAN_WEB_LIVE_INSTANCE`): every web process sees every event, where one group shared by
  replicas would hand each event to one of them. It holds no database and keeps nothing: an event
  is acked once it is handed to the fan-out. The group is created at the stream's end, and events
  older than `max_event_age_seconds` are not fanned out (a group recreated at 0 after a Redis flush
  must not replay the county's history into open consoles).
* Scoping stays where it is enforced: when an incident changes, the hub reads the incident again
  through alerts with a token of each group of consoles that see the same places (role, county,
  township, village: the services' scope rule depends on nothing else), and sends the row only to
  consoles whose read succeeded. Another township's console never hears of it: alerts answers 404.
  The envelope's county and township spare the calls that could not succeed.
* The SSE answer sends each change as `event: incident` with the stream entry id as its `id`; a
  browser that reconnects sends `Last-Event-ID` (the page's first connection `?after=` the stream
  position when the page was rendered) and gets the incidents changed since, read from the stream
  (any web process can answer it); too many missed: `event: reset`, and the page reloads its list.
  A comment every 15 s keeps proxies from closing the connection. Connections are bounded per
  process and per user (429 beyond).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.exceptions import ResponseError

from services.web.client import NotAllowed, NotFound, ServiceClient, SignInRequired, Unavailable
from services.web.incidents import service
from services.web.session import SessionStore, User, WebSession
from services.web.templating import environment
from shared.bus import REDIS_DOWN, BatchResult, Bus, StreamConsumer, decode_entry
from shared.events import Envelope
from shared.metrics import BusMetrics

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from shared.settings import Settings

log = logging.getLogger("shian.web.live")

INCIDENT_EVENTS = frozenset(
    {
        "incident.reported",
        "incident.escalated",
        "incident.acknowledged",
        "incident.progressed",
        "incident.counts_updated",
        "incident.level_changed",
        "incident.closed",
    }
)
"""What changes a row (the deprecated `alert.escalated`/`alert.acknowledged` twins are skipped)."""
POSITION = re.compile(r"^\d{1,20}-\d{1,20}$")
QUEUE_SIZE = 256


class LiveConfig(BaseSettings):
    """SHIAN_WEB_LIVE_*: the console's live updates."""

    model_config = SettingsConfigDict(env_prefix="SHIAN_WEB_LIVE_", extra="ignore")

    enabled: bool = True
    instance: str | None = None  # names this process's consumer group; default: host and port
    max_connections: int = Field(default=500, ge=1)  # open event streams in this process
    max_per_user: int = Field(default=6, ge=1)  # per account (a few tabs and a phone)
    heartbeat_seconds: float = Field(default=15.0, gt=0, le=60)
    max_event_age_seconds: float = Field(default=600.0, gt=0)
    replay_limit: int = Field(default=500, ge=1, le=10_000)


@dataclass(frozen=True)
class Change:
    position: str  # the stream entry id
    incident_id: str
    county_id: str
    township_id: str | None


@dataclass(eq=False)
class Subscriber:
    session_id: str
    user: User
    incident: str | None  # an incident page: only that incident; the console: all
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False

    @property
    def scope(self) -> tuple[str, str, str | None, str | None]:
        return (self.user.role, self.user.county_id, self.user.township_id, self.user.village_id)

    def may_concern(self, change: Change) -> bool:
        """False when the services could not show this user the incident (another county,
        another township): no call is made for them. True still needs alerts' answer."""
        if self.incident is not None and self.incident != change.incident_id:
            return False
        if change.county_id != self.user.county_id:
            return False
        return not (
            self.user.role != "county"
            and change.township_id is not None
            and change.township_id != self.user.township_id
        )

    def offer(self, message: str) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True


class TooMany(Exception):
    pass


def now_ms() -> int:
    return int(time.time() * 1000)


def sse(event: str, data: dict[str, Any], position: str | None = None) -> str:
    lines = []
    if position:
        lines.append(f"id: {position}")
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def render_row(item: dict[str, Any]) -> str:
    return environment().get_template("incidents/_row.html").render(item=item)


class Hub:
    """The open event streams of this process, and the fan-out of each change to them."""

    def __init__(self, client: ServiceClient, store: SessionStore, config: LiveConfig) -> None:
        self.client = client
        self.store = store
        self.config = config
        self.subscribers: set[Subscriber] = set()
        self.changes: asyncio.Queue[list[Change]] = asyncio.Queue()
        self.fanned_out = 0  # rows sent (tests, metrics)

    def add(self, subscriber: Subscriber) -> None:
        if len(self.subscribers) >= self.config.max_connections:
            raise TooMany("process")
        mine = sum(1 for other in self.subscribers if other.user.account_id == subscriber.user.account_id)
        if mine >= self.config.max_per_user:
            raise TooMany("user")
        self.subscribers.add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def offer(self, changes: list[Change]) -> None:
        self.changes.put_nowait(changes)

    async def run(self, stop: asyncio.Event) -> None:
        """One batch at a time, in stream order: a row read after the last event shows its state."""
        while not stop.is_set():
            getter = asyncio.ensure_future(self.changes.get())
            stopper = asyncio.ensure_future(stop.wait())
            done, _pending = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                stopper.cancel()
                return
            stopper.cancel()
            try:
                await self.fan_out(getter.result())
            except Exception:
                log.exception("fan-out of incident changes failed")

    async def fan_out(self, changes: Sequence[Change]) -> None:
        latest: dict[str, Change] = {}
        for change in changes:  # one read per incident per batch (a report brings several events)
            latest.pop(change.incident_id, None)
            latest[change.incident_id] = change
        for change in latest.values():
            groups: dict[tuple[Any, ...], list[Subscriber]] = {}
            for subscriber in list(self.subscribers):
                if subscriber.may_concern(change):
                    groups.setdefault(subscriber.scope, []).append(subscriber)
            for members in groups.values():
                await self._send_to_group(change, members)

    async def _send_to_group(self, change: Change, members: list[Subscriber]) -> None:
        """Read the incident as one member of a scope group sees it; the whole group gets that
        row, or nothing when alerts says it is not theirs to see."""
        for member in members:
            session = await self._session(member)
            if session is None:
                continue
            try:
                item = await service.one_row(self.client, session, change.incident_id)
            except (NotFound, NotAllowed):
                return
            except SignInRequired:
                member.offer(sse("signout", {}))
                continue
            except Unavailable as error:
                log.warning("cannot read incident %s for the consoles: %s", change.incident_id, error)
                return
            message = sse("incident", _payload(item), change.position)
            for subscriber in members:
                subscriber.offer(message)
                self.fanned_out += 1
            return

    async def _session(self, member: Subscriber) -> WebSession | None:
        session = await self.store.load(member.session_id)
        if session is None:
            member.offer(sse("signout", {}))
        return session


def _payload(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(item["id"]), "open": bool(item["open"]), "html": render_row(item), "now": now_ms()}


# --- the consumer ---------------------------------------------------------------------------------


class FanOut:
    """The consumer's processor: incident events become changes for the hub; nothing is stored,
    so a batch is always `applied` (or `ignored`) and acked at once."""

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop, max_age: timedelta) -> None:
        self.hub = hub
        self.loop = loop
        self.max_age = max_age
        self.positions: dict[str, str] = {}

    def process(self, envelopes: Sequence[Envelope]) -> BatchResult:
        result = BatchResult()
        changes: list[Change] = []
        oldest = datetime.now(UTC) - self.max_age
        for envelope in envelopes:
            event_id = str(envelope.event_id)
            incident = envelope.payload.get("incident_id")
            if envelope.type not in INCIDENT_EVENTS or not incident or envelope.occurred_at < oldest:
                result.outcomes[event_id] = "ignored"
                continue
            changes.append(
                Change(
                    position=self.positions.get(event_id, ""),
                    incident_id=str(incident),
                    county_id=envelope.county_id,
                    township_id=envelope.township_id,
                )
            )
            result.outcomes[event_id] = "applied"
        if changes:
            self.loop.call_soon_threadsafe(self.hub.offer, changes)
        return result


class LiveConsumer(StreamConsumer):
    """The shared stream consumer (groups, reclaim, dead letters, metrics), telling the fan-out
    each event's stream entry id: the SSE id a reconnecting browser sends back."""

    fan_out: FanOut

    async def handle(self, entries: list[Any], *, reclaimed: bool = False) -> None:
        positions = {}
        for entry in entries:
            if entry.fields is None:
                continue
            with contextlib.suppress(Exception):
                positions[str(decode_entry(entry.fields).event_id)] = entry.entry_id.decode()
        self.fan_out.positions = positions
        await super().handle(entries, reclaimed=reclaimed)


def group_name(settings: Settings, config: LiveConfig) -> str:
    instance = config.instance or f"{socket.gethostname()}.{settings.port('web')}"
    return f"web.{instance}"


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """The hub and this process's consumer, for as long as the app runs."""
    web = app.state.web
    config = LiveConfig()
    hub = Hub(web.client, web.store, config)
    app.state.incidents_hub = hub
    app.state.incidents_live = config
    if not config.enabled:
        yield
        return
    settings: Settings = web.settings
    registry: CollectorRegistry | None = getattr(app.state, "metrics_registry", None)
    stop = asyncio.Event()
    bus = Bus(settings, "web", registry)
    tasks = [
        asyncio.create_task(hub.run(stop), name="web-live-hub"),
        asyncio.create_task(_consume(app, bus, settings, config, hub, registry, stop), name="web-live-bus"),
    ]
    try:
        yield
    finally:
        stop.set()
        for task in tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                log.exception("live updates ended with an error")
        await bus.close()


async def _consume(
    app: FastAPI,
    bus: Bus,
    settings: Settings,
    config: LiveConfig,
    hub: Hub,
    registry: CollectorRegistry | None,
    stop: asyncio.Event,
) -> None:
    from prometheus_client import CollectorRegistry

    backoff = 0.2
    while not stop.is_set():
        try:
            redis = await bus.connect()
            stream, group = settings.stream("alerts"), group_name(settings, config)
            with contextlib.suppress(ResponseError):  # BUSYGROUP: this instance's group exists
                await redis.xgroup_create(stream, group, id="$", mkstream=True)
            break
        except REDIS_DOWN as error:
            log.warning("live updates cannot reach Redis yet (%s)", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, 5.0)
    else:
        return
    fan_out = FanOut(hub, asyncio.get_running_loop(), timedelta(seconds=config.max_event_age_seconds))
    consumer = LiveConsumer(
        redis=bus.redis,
        stream=stream,
        group=group,
        processor=fan_out,
        settings=settings,
        metrics=BusMetrics(registry or CollectorRegistry()),
        service="web",
    )
    consumer.fan_out = fan_out
    app.state.incidents_consumer = consumer
    await consumer.run(stop)


# --- the SSE answer -------------------------------------------------------------------------------


async def stream_position(request: Request) -> str:
    """The alerts stream's last entry id now ("0-0" for none): where a page's live updates start."""
    web = request.app.state.web
    try:
        last = await web.redis.xrevrange(web.settings.stream("alerts"), count=1)
    except REDIS_DOWN:
        return ""
    if not last:
        return "0-0"
    entry_id = last[0][0]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


async def _missed(
    request: Request, session: WebSession, subscriber: Subscriber, after: str, limit: int
) -> list[str]:
    """What changed since `after` for this user, read from the stream itself: rows for the
    incidents they see (alerts decides), or a reset when more was missed than is worth replaying."""
    web = request.app.state.web
    try:
        entries = await web.redis.xrange(web.settings.stream("alerts"), min=f"({after}", count=limit)
    except REDIS_DOWN:
        return [sse("reset", {})]
    except ResponseError:
        return [sse("reset", {})]
    if len(entries) >= limit:
        return [sse("reset", {})]
    latest: dict[str, Change] = {}
    last_position = after
    for entry_id, fields in entries:
        position = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        last_position = position
        try:
            envelope = decode_entry(fields)
        except Exception:
            continue
        incident = envelope.payload.get("incident_id")
        if envelope.type not in INCIDENT_EVENTS or not incident:
            continue
        change = Change(position, str(incident), envelope.county_id, envelope.township_id)
        if subscriber.may_concern(change):
            latest.pop(change.incident_id, None)
            latest[change.incident_id] = change
    messages = []
    for change in latest.values():
        try:
            item = await service.one_row(web.client, session, change.incident_id)
        except (NotFound, NotAllowed):
            continue
        messages.append(sse("incident", _payload(item), change.position))
    if last_position != after:  # the browser's next Last-Event-ID: past what was looked at
        messages.append(sse("position", {}, last_position))
    return messages


async def events(request: Request, session: WebSession) -> Response:
    hub: Hub = request.app.state.incidents_hub
    config: LiveConfig = request.app.state.incidents_live
    incident = request.query_params.get("incident")
    if incident is not None:
        try:
            incident = str(uuid.UUID(incident))
        except ValueError:
            raise NotFound() from None
    after = request.headers.get("last-event-id") or request.query_params.get("after") or ""
    after = after if POSITION.match(after) else ""
    subscriber = Subscriber(session_id=session.id, user=session.user, incident=incident)
    try:
        hub.add(subscriber)
    except TooMany as error:
        return JSONResponse(
            {"detail": f"too many live connections ({error})"}, status_code=429, headers={"Retry-After": "30"}
        )

    async def body() -> AsyncIterator[str]:
        try:
            yield f"retry: 3000\n: {'-' * 16}\n\n"
            if after:
                for message in await _missed(request, session, subscriber, after, config.replay_limit):
                    yield message
            while True:
                if subscriber.overflowed:
                    subscriber.overflowed = False
                    yield sse("reset", {})
                try:
                    message = await asyncio.wait_for(subscriber.queue.get(), timeout=config.heartbeat_seconds)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                yield message
                if message.startswith("event: signout"):
                    return
        finally:
            hub.remove(subscriber)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
