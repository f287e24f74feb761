"""The event bus on Redis Streams, built on FastStream's RedisBroker.

Publishing goes through the broker (FastStream's binary message format, its Prometheus middleware),
pipelined: the outbox relay sends a whole batch in one round trip.

Consuming does not use FastStream's stream subscriber, whose behaviour does not give Shian's
guarantees (0.7.x): it creates its group at `$`, stops for good when a group vanishes after a
Redis flush, reclaims pending entries one per poll, and has no delivery limit or dead letters.
`StreamConsumer` instead runs its own loop on the broker's connection:

* one consumer group per consuming service and stream, created at id 0, recreated if it vanishes;
* a unique consumer name per process;
* batches: XREADGROUP COUNT n, one database transaction and one XACK per batch, ack after commit;
* reclaim of entries left pending by a dead consumer (XAUTOCLAIM with a minimum idle time);
* a delivery limit, after which the entry goes to the dead-letter stream with its last error.

One loop per stream (not one XREADGROUP over several streams) keeps every command on one key, so
the same code runs against Redis Cluster, where streams live in different hash slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from struct import pack, unpack_from
from typing import TYPE_CHECKING, Any, Protocol, cast

from faststream.redis import RedisBroker
from faststream.redis.parser.binary import BinaryMessageFormatV1
from faststream.redis.prometheus import RedisPrometheusMiddleware
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.events import Envelope

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from redis.asyncio import Redis

    from shared.metrics import BusMetrics
    from shared.settings import Settings

log = logging.getLogger("shian.bus")

DATA_FIELD = b"__data__"  # FastStream's stream field
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


def consumer_name(service: str) -> str:
    """Unique per process, so a restarted process never inherits a dead one's pending entries
    silently: those are reclaimed explicitly after the idle time."""
    return f"{service}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def make_broker(settings: Settings, service: str, registry: CollectorRegistry | None) -> RedisBroker:
    middlewares = []
    if registry is not None:
        middlewares.append(RedisPrometheusMiddleware(registry=registry, app_name=service))
    return RedisBroker(
        settings.redis_url,
        middlewares=middlewares,
        socket_timeout=10,
        socket_connect_timeout=3,
        health_check_interval=15,
        logger=logging.getLogger(f"shian.{service}.faststream"),
    )


@dataclass(frozen=True)
class OutgoingEvent:
    stream: str
    body: bytes
    event_id: str
    event_type: str


class Bus:
    """A service's connection to the bus: FastStream's broker and its Redis client."""

    def __init__(self, settings: Settings, service: str, registry: CollectorRegistry | None = None):
        self.settings = settings
        self.service = service
        self.broker = make_broker(settings, service, registry)
        self._redis: Redis | None = None

    async def connect(self) -> Redis:
        if self._redis is None:
            self._redis = await self.broker.connect()
        return self._redis

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("bus not connected")
        return self._redis

    async def close(self) -> None:
        await self.broker.stop()
        self._redis = None

    async def publish_many(self, events: Sequence[OutgoingEvent]) -> None:
        """Publish a batch in one pipelined round trip, in FastStream's binary message format.

        The entries are exactly what `broker.publish(body, stream=..., headers=...)` writes (a
        test holds the two equal), but encoded here: FastStream's per-message publish path,
        middleware included, cost about 40 µs an event, more than the rest of the relay."""
        if not events:
            return
        pipe = self.redis.pipeline(transaction=False)
        for item in events:
            pipe.xadd(item.stream, {DATA_FIELD: encode_message(item)})
        await pipe.execute()

    async def ping(self) -> bool:
        return bool(await self.redis.ping())


_BINARY_HEADER = BinaryMessageFormatV1.IDENTITY_HEADER + pack(">H", 1)


def encode_message(item: OutgoingEvent) -> bytes:
    """FastStream's binary message format v1: magic, version, offsets, headers, body."""
    headers = {
        "correlation_id": item.event_id,
        "event_id": item.event_id,
        "event_type": item.event_type,
    }
    encoded = bytearray()
    for key, value in headers.items():
        for text in (key.encode(), value.encode()):
            encoded += pack(">H", len(text)) + text
    headers_start = len(_BINARY_HEADER) + 8
    data_start = headers_start + 2 + len(encoded)
    return b"".join(
        (
            _BINARY_HEADER,
            pack(">II", headers_start, data_start),
            pack(">H", len(headers)),
            bytes(encoded),
            item.body,
        )
    )


def decode_entry(fields: dict[bytes, bytes]) -> Envelope:
    """The envelope in a stream entry written by FastStream (or raw JSON in `__data__`)."""
    raw = fields.get(DATA_FIELD)
    if raw is None:
        raise ValueError("entry has no __data__ field")
    return Envelope.from_bytes(message_body(raw))


def message_body(raw: bytes) -> bytes:
    """The body of a FastStream binary message: the data offset is in the fixed header, so the
    headers need not be read (FastStream's general parser reads them all, five times slower)."""
    if raw.startswith(_BINARY_HEADER) and len(raw) >= len(_BINARY_HEADER) + 8:
        (data_start,) = unpack_from(">I", raw, len(_BINARY_HEADER) + 4)
        return raw[data_start:]
    body, _headers = BinaryMessageFormatV1.parse(raw)
    return body


async def ensure_group(redis: Redis, stream: str, group: str) -> bool:
    """Create the group at id 0 (events written before the consumer first ran are delivered)."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
        return True
    except ResponseError as error:
        if "BUSYGROUP" in str(error):
            return False
        raise


@dataclass
class BatchResult:
    """What the processor did with each event id in a batch."""

    outcomes: dict[str, str] = field(default_factory=dict)  # event_id -> applied|duplicate|ignored
    errors: dict[str, str] = field(default_factory=dict)  # event_id -> error text


class TransientError(Exception):
    """The processor could not reach its database: retry the same batch later, as it is."""


class BatchProcessor(Protocol):
    """Applies a batch of events in the service's database (see shared.inbox.InboxProcessor)."""

    def process(self, envelopes: Sequence[Envelope]) -> BatchResult: ...


@dataclass
class _Entry:
    entry_id: bytes
    fields: dict[bytes, bytes] | None  # None: deleted from the stream while it was pending
    envelope: Envelope | None = None
    error: str | None = None


# Stream replies as the bus's connection returns them. redis-py types each reply for any client
# (bytes or str as the client decodes responses or not, RESP2 or RESP3 shapes); the broker's client
# does not decode responses and speaks RESP2, so ids and fields are bytes. These functions say so
# once, where a reply enters, and nothing else in this module needs to narrow.
StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]


def _range_reply(reply: object) -> StreamEntries:
    """XRANGE's entries, oldest first."""
    return cast(StreamEntries, reply)


def read_reply(reply: object) -> list[tuple[bytes, StreamEntries]]:
    """XREADGROUP's entries per stream; none when the read timed out (Redis answers nil)."""
    return cast("list[tuple[bytes, StreamEntries]]", reply or [])


def _autoclaim_reply(reply: object) -> tuple[bytes, list[tuple[bytes, dict[bytes, bytes] | None]]]:
    """XAUTOCLAIM's next start id and the entries it claimed, whose fields are None for an entry
    deleted while pending (Redis 6.2; Redis 7 lists those ids in a third element, not read here)."""
    parts = cast("list[Any]", reply)
    return parts[0], parts[1]


class StreamConsumer:
    """One consumer group's reader of one stream in one process."""

    def __init__(
        self,
        *,
        redis: Redis,
        stream: str,
        group: str,
        processor: BatchProcessor,
        settings: Settings,
        metrics: BusMetrics,
        service: str,
        name: str | None = None,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
        self.processor = processor
        self.settings = settings
        self.metrics = metrics
        self.service = service
        self.name = name or consumer_name(service)
        self.errors_key = f"{stream}.errors.{group}"
        self._next_reclaim = 0.0
        self._next_lag = 0.0
        self._stop: asyncio.Event | None = None
        self.healthy = False

    # -- loop -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        backoff = 0.2
        group_ready = False
        while not stop.is_set():
            try:
                if not group_ready:
                    await ensure_group(self.redis, self.stream, self.group)
                    group_ready = True
                await self.step()
                self.healthy = True
                backoff = 0.2
            except ResponseError as error:
                if "NOGROUP" in str(error):
                    log.warning("group %s on %s vanished; recreating it", self.group, self.stream)
                    self.metrics.bus_errors.labels(self.service, "group_recreated").inc()
                    group_ready = False
                    continue
                await self._pause_after_error(error, "redis_error", stop, backoff)
                backoff = min(backoff * 2, 5.0)
            except REDIS_DOWN as error:
                group_ready = False
                await self._pause_after_error(error, "redis_down", stop, backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as error:  # a bug must not end the loop: log it and go on
                log.exception("consumer %s on %s failed", self.name, self.stream)
                await self._pause_after_error(error, "consumer_error", stop, backoff)
                backoff = min(backoff * 2, 5.0)

    async def _pause_after_error(
        self, error: BaseException, kind: str, stop: asyncio.Event, seconds: float
    ) -> None:
        self.healthy = False
        self.metrics.bus_errors.labels(self.service, kind).inc()
        log.warning("bus %s on %s: %s; retrying in %.1fs", kind, self.stream, error, seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)

    async def step(self) -> int:
        """One read (and, when due, one reclaim pass); returns the entries handled."""
        handled = 0
        now = time.monotonic()
        if now >= self._next_reclaim:
            handled += await self.reclaim()
            self._next_reclaim = now + min(max(self.settings.claim_idle_ms / 2000, 0.1), 5.0)
        if now >= self._next_lag:
            await self.observe_lag()
            await self.observe_parked()
            self._next_lag = now + 5.0
        response = read_reply(
            await self.redis.xreadgroup(
                self.group,
                self.name,
                {self.stream: ">"},
                count=self.settings.batch_size,
                block=self.settings.block_ms,
            )
        )
        for _stream, entries in response:
            if entries:
                await self.handle([_Entry(entry_id, fields) for entry_id, fields in entries])
                handled += len(entries)
        return handled

    # -- batches ----------------------------------------------------------------------------

    async def handle(self, entries: list[_Entry], *, reclaimed: bool = False) -> None:
        started = time.perf_counter()
        readable: list[_Entry] = []
        unreadable: list[_Entry] = []
        for entry in entries:
            if entry.fields is None:  # deleted from the stream while pending
                unreadable.append(entry)
                continue
            try:
                entry.envelope = decode_entry(entry.fields)
                readable.append(entry)
            except Exception as error:
                entry.error = f"unreadable entry: {error}"
                unreadable.append(entry)

        result = BatchResult()
        if readable:
            envelopes = [entry.envelope for entry in readable if entry.envelope is not None]
            processed = await self._process_until_the_database_answers(envelopes)
            if processed is None:  # stopping: the entries stay pending and are reclaimed later
                return
            result = processed

        acked: list[bytes] = []
        failed: list[_Entry] = []
        for entry in readable:
            assert entry.envelope is not None
            event_id = str(entry.envelope.event_id)
            if event_id in result.errors:
                entry.error = result.errors[event_id]
                failed.append(entry)
            else:
                acked.append(entry.entry_id)

        pipe = self.redis.pipeline(transaction=False)
        if acked:
            pipe.xack(self.stream, self.group, *acked)
            if reclaimed:
                pipe.hdel(self.errors_key, *acked)
        for entry in failed:
            pipe.hset(self.errors_key, entry.entry_id, entry.error or "unknown error")
        for entry in unreadable:
            if entry.fields is None:
                pipe.xack(self.stream, self.group, entry.entry_id)
            else:
                self._deadletter_into(pipe, entry, deliveries=1)
        await pipe.execute()

        self._count(readable, result, unreadable)
        self.metrics.batch_seconds.labels(self.service, self.stream).observe(time.perf_counter() - started)

    async def _process_until_the_database_answers(self, envelopes: list[Envelope]) -> BatchResult | None:
        """The processor's result; while its database is unreachable, retry the same batch
        (None if the consumer is stopped meanwhile: the entries stay pending)."""
        backoff = 0.2
        while True:
            try:
                return await asyncio.to_thread(self.processor.process, envelopes)
            except TransientError as error:
                stop = self._stop or asyncio.Event()
                await self._pause_after_error(error, "database_unavailable", stop, backoff)
                if stop.is_set():
                    return None
                backoff = min(backoff * 2, 5.0)

    def _count(self, readable: list[_Entry], result: BatchResult, unreadable: list[_Entry]) -> None:
        """Metrics for a batch: one counter update per (type, outcome), not per event."""
        now = datetime.now(UTC)
        counts: Counter[tuple[str, str]] = Counter()
        delay = self.metrics.processing_delay.labels(self.service, self.stream)
        for entry in readable:
            assert entry.envelope is not None
            event_id = str(entry.envelope.event_id)
            outcome = "failed" if event_id in result.errors else result.outcomes.get(event_id, "applied")
            counts[entry.envelope.type, outcome] += 1
            if outcome == "applied":
                delay.observe(max((now - entry.envelope.occurred_at).total_seconds(), 0.0))
        for (event_type, outcome), number in counts.items():
            self.metrics.events_consumed.labels(self.service, self.stream, event_type, outcome).inc(number)
        if unreadable:
            self.metrics.deadletters.labels(self.service, self.stream).inc(
                sum(1 for entry in unreadable if entry.fields is not None)
            )

    # -- reclaim and dead letters -----------------------------------------------------------

    async def reclaim(self) -> int:
        """Take over entries idle longer than the claim time; dead-letter those over the limit."""
        start: bytes | str = "0-0"
        total = 0
        while True:
            next_id, claimed = _autoclaim_reply(
                await self.redis.xautoclaim(
                    self.stream,
                    self.group,
                    self.name,
                    min_idle_time=self.settings.claim_idle_ms,
                    start_id=start,
                    count=self.settings.batch_size,
                )
            )
            if claimed:
                total += len(claimed)
                self.metrics.reclaimed.labels(self.service, self.stream).inc(len(claimed))
                await self._retry_or_deadletter([_Entry(i, f) for i, f in claimed])
            if next_id in (b"0-0", "0-0"):
                return total
            start = next_id

    async def _retry_or_deadletter(self, entries: list[_Entry]) -> None:
        deliveries = await self._delivery_counts([entry.entry_id for entry in entries])
        over = [e for e in entries if deliveries.get(e.entry_id, 1) > self.settings.max_deliveries]
        retry = [e for e in entries if e not in over]
        if over:
            # bytes, as every reply of this connection (see StreamEntries)
            errors = cast(
                "list[bytes | None]", await self.redis.hmget(self.errors_key, [e.entry_id for e in over])
            )
            pipe = self.redis.pipeline(transaction=False)
            for entry, error in zip(over, errors, strict=True):
                if entry.fields is None:
                    pipe.xack(self.stream, self.group, entry.entry_id)
                    continue
                entry.error = (error or b"delivery limit reached").decode(errors="replace")
                # the claim that found it over the limit is not an attempt: record the attempts
                attempts = deliveries.get(entry.entry_id, 1) - 1
                self._deadletter_into(pipe, entry, deliveries=attempts)
            pipe.hdel(self.errors_key, *[e.entry_id for e in over])
            await pipe.execute()
            self.metrics.deadletters.labels(self.service, self.stream).inc(
                sum(1 for e in over if e.fields is not None)
            )
            for entry in over:
                log.error(
                    "dead-lettered %s from %s for %s after %s deliveries: %s",
                    entry.entry_id,
                    self.stream,
                    self.group,
                    deliveries.get(entry.entry_id),
                    entry.error,
                )
        if retry:
            await self.handle(retry, reclaimed=True)

    async def _delivery_counts(self, entry_ids: list[bytes]) -> dict[bytes, int]:
        """Times each entry has been delivered (this claim included), asked entry by entry in one
        pipeline: a range query could stop short among this consumer's other pending entries."""
        if not entry_ids:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for entry_id in entry_ids:
            pipe.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
        counts: dict[bytes, int] = {}
        for entry_id, rows in zip(entry_ids, await pipe.execute(), strict=True):
            if rows:
                counts[entry_id] = int(rows[0]["times_delivered"])
        return counts

    def _deadletter_into(self, pipe: Any, entry: _Entry, *, deliveries: int) -> None:
        envelope = entry.envelope
        if envelope is None and entry.fields is not None:
            try:
                envelope = decode_entry(entry.fields)
            except Exception:
                envelope = None
        pipe.xadd(
            self.settings.deadletter_stream,
            {
                "stream": self.stream,
                "group": self.group,
                "entry_id": entry.entry_id,
                "event_id": str(envelope.event_id) if envelope else "",
                "event_type": envelope.type if envelope else "",
                "error": (entry.error or "")[:4000],
                "deliveries": str(deliveries),
                "failed_at": datetime.now(UTC).isoformat(),
                DATA_FIELD: entry.fields.get(DATA_FIELD, b"") if entry.fields else b"",
            },
        )
        pipe.xack(self.stream, self.group, entry.entry_id)

    async def observe_lag(self) -> None:
        for info in await self.redis.xinfo_groups(self.stream):
            name = _as_bytes(info.get("name")).decode()
            if name != self.group:
                continue
            pending = int(info.get("pending") or 0)
            lag = info.get("lag")
            if lag is None:  # Redis < 7 has no lag field; count what is after last-delivered-id
                last = _as_bytes(info.get("last-delivered-id") or b"0-0")
                lag = len(_range_reply(await self.redis.xrange(self.stream, min=b"(" + last, count=10_000)))
            self.metrics.consumer_lag.labels(self.service, self.stream).set(int(lag))
            self.metrics.consumer_pending.labels(self.service, self.stream).set(pending)

    async def observe_parked(self) -> None:
        """Gauges of the events the processor holds back waiting for a record (and, in the
        processor, the retry of those and the error log of those waiting too long)."""
        check = getattr(self.processor, "check_parked", None)
        if check is None:
            return
        try:
            stats = await asyncio.to_thread(check, self.settings.parked_max_wait_seconds)
        except Exception as error:  # the database may be away: the next pass will tell
            log.warning("cannot read the parked events of %s: %s", self.group, error)
            return
        self.metrics.events_parked.labels(self.service).set(stats.count)
        self.metrics.events_parked_oldest_age.labels(self.service).set(stats.oldest_age_seconds)


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


# --- dead letters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    id: str
    stream: str
    group: str
    entry_id: str
    event_id: str
    event_type: str
    error: str
    deliveries: int
    failed_at: str


def _dead_letter(entry_id: bytes, fields: dict[bytes, bytes]) -> DeadLetter:
    def text(key: str) -> str:
        return fields.get(key.encode(), b"").decode(errors="replace")

    return DeadLetter(
        id=entry_id.decode(),
        stream=text("stream"),
        group=text("group"),
        entry_id=text("entry_id"),
        event_id=text("event_id"),
        event_type=text("event_type"),
        error=text("error"),
        deliveries=int(text("deliveries") or 0),
        failed_at=text("failed_at"),
    )


async def list_deadletters(redis: Redis, settings: Settings, *, limit: int = 100) -> list[DeadLetter]:
    entries = _range_reply(await redis.xrange(settings.deadletter_stream, count=limit))
    return [_dead_letter(entry_id, fields) for entry_id, fields in entries]


async def replay_deadletters(redis: Redis, settings: Settings, ids: Iterable[str] | None = None) -> list[str]:
    """Put dead letters back on their original stream and remove them from the dead-letter stream.

    The event keeps its event_id, so groups that had applied it skip it as a duplicate and only
    the group that failed applies it. Returns the ids replayed.
    """
    wanted = set(ids) if ids is not None else None
    replayed: list[str] = []
    for entry_id, fields in _range_reply(await redis.xrange(settings.deadletter_stream)):
        key = entry_id.decode()
        if wanted is not None and key not in wanted:
            continue
        stream = fields.get(b"stream", b"").decode()
        data = fields.get(DATA_FIELD)
        if not stream or not data:
            continue
        pipe = redis.pipeline(transaction=False)
        pipe.xadd(stream, {DATA_FIELD: data})
        pipe.xdel(settings.deadletter_stream, entry_id)
        await pipe.execute()
        replayed.append(key)
    return replayed


async def publish(settings: Settings, envelopes: Sequence[Envelope], producer: str = "registry") -> None:
    """Publish envelopes on a producer's stream exactly as the outbox relay does, from outside a
    service (tests and benchmarks that play another service's part)."""
    bus = Bus(settings, producer)
    await bus.connect()
    try:
        await bus.publish_many(
            [
                OutgoingEvent(
                    stream=settings.stream(producer),
                    body=envelope.to_bytes(),
                    event_id=str(envelope.event_id),
                    event_type=envelope.type,
                )
                for envelope in envelopes
            ]
        )
    finally:
        await bus.close()
