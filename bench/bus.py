"""Benchmark of Shian's bus against raw redis-py, in one run against one Redis.

    python bench/bus.py                 # 50,000 events of ~310 bytes
    python bench/bus.py --quick         # 5,000 events, a smoke run
    python bench/bus.py --events 20000 --rate 2000

Two systems, each as a publisher process and a consumer process (as in production):

* raw: a publisher doing pipelined XADD (batches of `relay_batch_size`) and a consumer doing
  XREADGROUP COUNT `batch_size` + XACK, nothing else; latency is publish to ack.
* shian: a producer process writing the events through the real outbox (`shared.outbox.emit` into
  SQLite, committed in batches) with `OutboxRelay` publishing them, and a consumer process running
  `StreamConsumer` + `InboxProcessor` into its own SQLite database (one projection row per event);
  latency is the envelope's `occurred_at` to the consumer's commit.

Each system runs twice: flooded with `--events` (throughput; latency there is mostly queueing) and
paced at `--rate` events/s (latency at a steady load). The Redis is SHIAN_REDIS_URL if set and
reachable, else a private one started here (and stopped after). Streams are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/bus.py` from a checkout
    sys.path.insert(0, str(REPO_ROOT))

GROUP = "bench"
TARGET_RATIO = 0.40


# --- what is sent -----------------------------------------------------------------------------


def make_envelope(number: int) -> Any:
    """A realistic ~310-byte envelope (a village defined by the registry)."""
    from shared.catalogue.registry import PlaceDefined
    from shared.events import Envelope

    return Envelope.wrap(
        PlaceDefined(
            place_id=f"qy.ds.v{number:06d}",
            level="village",
            name=f"村{number:06d}",
            parent_id="qy.ds",
        ),
        county_id="qy",
        township_id="qy.ds",
        actor="county:office",
    )


class Pacer:
    """Sends `rate` events/s in ticks of 10 ms (or as fast as possible without a rate)."""

    def __init__(self, total: int, rate: float | None, flood_chunk: int) -> None:
        self.total = total
        self.rate = rate
        self.chunk = max(1, round(rate / 100)) if rate else flood_chunk
        self.start = time.perf_counter()
        self.sent = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        while self.sent < self.total:
            size = min(self.chunk, self.total - self.sent)
            if self.rate:
                due = self.start + self.sent / self.rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            yield size
            self.sent += size


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
    return usage.ru_utime + usage.ru_stime


def report(path: str, data: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(data))


# --- raw redis-py -----------------------------------------------------------------------------


def raw_publisher(args: argparse.Namespace) -> None:
    import redis

    client = redis.Redis.from_url(args.redis_url)
    stream = f"{args.prefix}.raw"
    bodies = [make_envelope(n).to_bytes() for n in range(args.events)]  # built before the clock
    started, cpu = time.time(), cpu_seconds()
    number = 0
    pipe = client.pipeline(transaction=False)
    for size in Pacer(args.events, args.rate, args.relay_batch):
        for _ in range(size):
            pipe.xadd(stream, {"t": repr(time.time()), "d": bodies[number]})
            number += 1
        pipe.execute()
    finished = time.time()
    report(args.out, {"started": started, "finished": finished, "cpu_s": cpu_seconds() - cpu})


def raw_consumer(args: argparse.Namespace) -> None:
    import redis

    client = redis.Redis.from_url(args.redis_url, socket_timeout=10)
    stream = f"{args.prefix}.raw"
    client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    cpu = cpu_seconds()
    print("ready", flush=True)
    latencies: list[float] = []
    received = 0
    last = 0.0
    while received < args.events:
        response = client.xreadgroup(GROUP, "raw-1", {stream: ">"}, count=args.batch, block=1000)
        for _stream, entries in response or ():
            client.xack(stream, GROUP, *[entry_id for entry_id, _fields in entries])
            last = time.time()
            latencies.extend(last - float(fields[b"t"]) for _id, fields in entries)
            received += len(entries)
    report(
        args.out,
        {
            "received": received,
            "last": last,
            "latencies": latencies,
            "rss_mb": peak_rss_mb(),
            "cpu_s": cpu_seconds() - cpu,
        },
    )


# --- Shian: outbox -> relay -> StreamConsumer -> inbox -----------------------------------------


def bench_settings(args: argparse.Namespace) -> Any:
    from shared.settings import Settings

    return Settings(
        env="test",
        var_dir=Path(args.workdir),
        redis_url=args.redis_url,
        stream_prefix=args.prefix,
        secret_key="bench-" + "x" * 40,
        batch_size=args.batch,
        relay_batch_size=args.relay_batch,
    )


def shian_producer(args: argparse.Namespace) -> None:
    asyncio.run(_shian_producer(args))


async def _shian_producer(args: argparse.Namespace) -> None:
    import sqlalchemy as sa
    from prometheus_client import CollectorRegistry

    from shared.bus import Bus
    from shared.catalogue.registry import PlaceDefined
    from shared.db import Database, add_infrastructure_tables, service_base
    from shared.metrics import BusMetrics
    from shared.outbox import OutboxRelay, emit

    settings = bench_settings(args)
    base = service_base("benchproducer")
    infra = add_infrastructure_tables(base.metadata)
    db = Database(
        f"sqlite:///{Path(args.workdir) / 'producer.db'}",
        infra=infra,
        stream=settings.stream("producer"),
        service="producer",
    )
    base.metadata.create_all(db.engine)
    bus = Bus(settings, "producer", CollectorRegistry())
    await bus.connect()
    relay = OutboxRelay(db, bus, settings, BusMetrics(CollectorRegistry()))
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))
    payloads = [make_envelope(n) for n in range(args.events)]  # built before the clock

    def write() -> None:
        """The service's own writes: each transaction emits a batch of events."""
        number = 0
        for size in Pacer(args.events, args.rate, args.write_batch):
            with db.session() as session:
                for _ in range(size):
                    template = payloads[number]
                    emit(
                        session,
                        PlaceDefined.model_validate(template.payload),
                        county_id=template.county_id,
                        township_id=template.township_id,
                        actor=template.actor,
                    )
                    number += 1

    started, cpu = time.time(), cpu_seconds()
    await asyncio.to_thread(write)
    written = time.time()
    unpublished = infra.outbox.c.published_at.is_(None)

    def backlog() -> int:
        with db.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).where(unpublished)).scalar_one())

    # In a thread: the relay holds SQLite's write lock while it awaits Redis on this loop.
    while await asyncio.to_thread(backlog) > 0:
        await asyncio.sleep(0.02)
    drained, cpu = time.time(), cpu_seconds() - cpu
    stop.set()
    await relay_task
    await bus.close()
    db.dispose()
    report(args.out, {"started": started, "written": written, "finished": drained, "cpu_s": cpu})


def shian_consumer(args: argparse.Namespace) -> None:
    asyncio.run(_shian_consumer(args))


async def _shian_consumer(args: argparse.Namespace) -> None:
    import sqlalchemy as sa
    from prometheus_client import CollectorRegistry

    from shared.bus import Bus, StreamConsumer, ensure_group
    from shared.catalogue.registry import PlaceDefined
    from shared.db import Database, add_infrastructure_tables, service_base
    from shared.inbox import InboxProcessor, batch_handler
    from shared.metrics import BusMetrics

    settings = bench_settings(args)
    base = service_base("benchconsumer")
    infra = add_infrastructure_tables(base.metadata)
    projection = sa.Table(
        "place_directory",
        base.metadata,
        sa.Column("place_id", sa.String(80), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.String(80)),
    )
    db = Database(
        f"sqlite:///{Path(args.workdir) / 'consumer.db'}",
        infra=infra,
        stream=settings.stream(GROUP),
        service=GROUP,
    )
    base.metadata.create_all(db.engine)

    insert_row = projection.insert()  # one statement object: SQLAlchemy compiles it once

    def project(session: Any, _envelope: Any, payload: PlaceDefined) -> None:
        """A projection handler: one row per event, in the inbox's transaction."""
        session.execute(
            insert_row, {"place_id": payload.place_id, "name": payload.name, "parent_id": payload.parent_id}
        )

    @batch_handler
    def project_run(session: Any, items: Sequence[Any]) -> None:
        """The same projection as a batch handler: one executemany per run of events."""
        session.execute(
            insert_row,
            [
                {"place_id": payload.place_id, "name": payload.name, "parent_id": payload.parent_id}
                for _envelope, payload in items
            ],
        )

    handler = project if args.per_event_handler else project_run
    inbox = InboxProcessor(db, GROUP, {PlaceDefined: [handler]})
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    latencies: list[float] = []
    state = {"applied": 0, "last": 0.0}
    lock = threading.Lock()

    class Timed:
        """The inbox, timing each applied event from occurred_at to its commit."""

        def process(self, envelopes: Sequence[Any]) -> Any:
            result = inbox.process(envelopes)  # committed when this returns
            now = time.time()
            with lock:
                for envelope in envelopes:
                    if result.outcomes.get(str(envelope.event_id)) == "applied":
                        latencies.append(now - envelope.occurred_at.timestamp())
                        state["applied"] += 1
                state["last"] = now
                if state["applied"] >= args.events:
                    loop.call_soon_threadsafe(done.set)
            return result

    bus = Bus(settings, GROUP)
    redis = await bus.connect()
    stream = settings.stream("producer")
    await ensure_group(redis, stream, GROUP)
    consumer = StreamConsumer(
        redis=redis,
        stream=stream,
        group=GROUP,
        processor=Timed(),
        settings=settings,
        metrics=BusMetrics(CollectorRegistry()),
        service=GROUP,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    cpu = cpu_seconds()
    print("ready", flush=True)
    await done.wait()
    stop.set()
    await task
    await bus.close()
    db.dispose()
    report(
        args.out,
        {
            "received": state["applied"],
            "last": state["last"],
            "latencies": latencies,
            "rss_mb": peak_rss_mb(),
            "cpu_s": cpu_seconds() - cpu,
        },
    )


ROLES = {
    "raw-publisher": raw_publisher,
    "raw-consumer": raw_consumer,
    "shian-producer": shian_producer,
    "shian-consumer": shian_consumer,
}


# --- orchestration ----------------------------------------------------------------------------


@dataclass
class Figures:
    system: str
    mode: str
    events: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    consumer_rss_mb: float
    published_s: float  # publisher start -> all events on the stream (Shian: relay drained)
    written_s: float | None = None  # Shian: publisher start -> all outbox transactions committed
    cpu_us: tuple[float, float, float] = (0.0, 0.0, 0.0)  # CPU per event: publisher, consumer, Redis

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("nan")


def child(role: str, options: argparse.Namespace, out: Path, *, events: int, rate: float | None, prefix: str):
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--role",
        role,
        "--out",
        str(out),
        "--redis-url",
        options.redis_url,
        "--prefix",
        prefix,
        "--workdir",
        str(out.parent),
        "--events",
        str(events),
        "--batch",
        str(options.batch),
        "--relay-batch",
        str(options.relay_batch),
        "--write-batch",
        str(options.write_batch),
    ]
    if rate:
        command += ["--rate", str(rate)]
    if options.per_event_handler:
        command.append("--per-event-handler")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )


def stop_process(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def run_pair(
    system: str, options: argparse.Namespace, *, events: int, rate: float | None, base: Path
) -> Figures:
    """One publisher and one consumer process; the consumer is ready before publishing starts."""
    mode = f"paced {rate:g}/s" if rate else "flood"
    workdir = base / f"{system}-{'paced' if rate else 'flood'}"
    workdir.mkdir(parents=True)
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    timeout = max(120.0, events / 500)
    consumer = child(
        f"{system}-consumer", options, workdir / "consumer.json", events=events, rate=rate, prefix=prefix
    )
    publisher: subprocess.Popen[str] | None = None
    try:
        assert consumer.stdout is not None
        line = consumer.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"{system} consumer did not start (exit {consumer.wait(timeout=30)})")
        redis_cpu = redis_cpu_seconds(options.redis_url)
        publisher = child(
            "raw-publisher" if system == "raw" else "shian-producer",
            options,
            workdir / "publisher.json",
            events=events,
            rate=rate,
            prefix=prefix,
        )
        if publisher.wait(timeout=timeout) != 0:
            raise RuntimeError(f"{system} publisher failed")
        if consumer.wait(timeout=timeout) != 0:
            raise RuntimeError(f"{system} consumer failed")
        redis_cpu = redis_cpu_seconds(options.redis_url) - redis_cpu
    finally:
        stop_process(consumer)
        if publisher is not None:
            stop_process(publisher)
        cleanup_streams(options.redis_url, prefix)
    published = json.loads((workdir / "publisher.json").read_text())
    consumed = json.loads((workdir / "consumer.json").read_text())
    latencies = consumed["latencies"]
    if consumed["received"] < events:
        raise RuntimeError(f"{system}: {consumed['received']} of {events} events consumed")
    return Figures(
        system=system,
        mode=mode,
        events=events,
        seconds=consumed["last"] - published["started"],
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        max_ms=max(latencies) * 1000,
        consumer_rss_mb=consumed["rss_mb"],
        published_s=published["finished"] - published["started"],
        written_s=published["written"] - published["started"] if "written" in published else None,
        cpu_us=(
            published["cpu_s"] * 1e6 / events,
            consumed["cpu_s"] * 1e6 / events,
            redis_cpu * 1e6 / events,
        ),
    )


def redis_cpu_seconds(url: str) -> float:
    """CPU used by the Redis server so far (all its clients: exact only for a private server)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    finally:
        client.close()


def cleanup_streams(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}.*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def envelope_size() -> int:
    return len(make_envelope(1).to_bytes())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=50_000, help="events in the throughput run")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5,000 events")
    parser.add_argument("--rate", type=float, default=None, help="events/s of the paced (latency) run")
    parser.add_argument("--paced-events", type=int, default=None, help="events in the paced run")
    parser.add_argument("--batch", type=int, default=256, help="XREADGROUP COUNT (Settings.batch_size)")
    parser.add_argument("--relay-batch", type=int, default=500, help="XADD per pipeline (relay_batch_size)")
    parser.add_argument("--write-batch", type=int, default=500, help="events per outbox transaction (flood)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--per-event-handler",
        action="store_true",
        help="project with a per-event handler (one INSERT per event) instead of a batch handler",
    )
    # internal: the child processes
    parser.add_argument("--role", choices=sorted(ROLES), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.role:
        ROLES[args.role](args)
        return 0

    if args.quick:
        args.events = 5_000
    rate = args.rate or 1_000.0
    paced_events = args.paced_events or max(1_000, min(args.events // 5, 10_000))

    from shared.localredis import provide_redis

    base = Path(tempfile.mkdtemp(prefix="shian-bench-"))
    handle = provide_redis(base / "redis", os.environ.get("SHIAN_REDIS_URL"))
    args.redis_url = handle.url
    try:
        import redis

        info = redis.Redis.from_url(handle.url).info("server")
        redis_version = info.get("redis_version", "?")
        print(
            f"Redis {redis_version} ({handle.kind}) at {handle.url}; {args.events:,} events of "
            f"{envelope_size()} bytes; {os.cpu_count()} CPUs",
            flush=True,
        )
        results: list[Figures] = []
        for system in ("raw", "shian"):
            figures = run_pair(system, args, events=args.events, rate=None, base=base)
            print(describe(figures), flush=True)
            results.append(figures)
        for system in ("raw", "shian"):
            figures = run_pair(system, args, events=paced_events, rate=rate, base=base)
            print(describe(figures), flush=True)
            results.append(figures)
    finally:
        handle.stop()
        shutil.rmtree(base, ignore_errors=True)

    raw, shian = results[0], results[1]
    ratio = shian.rate / raw.rate
    summary = render_summary(results, ratio, args, redis_version, handle.kind)
    print()
    print(summary)
    if args.json:
        args.json.write_text(
            json.dumps({"ratio": ratio, "results": [dict(vars(f), rate=f.rate) for f in results]}, indent=2)
        )
    return 0


def describe(f: Figures) -> str:
    return (
        f"  {f.system:<6} {f.mode:<14} {f.events:>7,} events in {f.seconds:6.2f} s "
        f"= {f.rate:>8,.0f} events/s; "
        f"latency p50 {f.p50_ms:8.1f} ms  p99 {f.p99_ms:8.1f} ms  max {f.max_ms:8.1f} ms; "
        f"consumer peak RSS {f.consumer_rss_mb:.0f} MB\n"
        + (f"         outbox written in {f.written_s:.2f} s, " if f.written_s is not None else "         ")
        + f"all published in {f.published_s:.2f} s, all consumed in {f.seconds:.2f} s; CPU per event: "
        f"publisher {f.cpu_us[0]:.0f} µs, consumer {f.cpu_us[1]:.0f} µs, Redis {f.cpu_us[2]:.0f} µs"
    )


def render_summary(
    results: list[Figures], ratio: float, args: argparse.Namespace, version: str, kind: str
) -> str:
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    lines = [
        "```",
        f"bench/bus.py: {results[0].events:,} events of {envelope_size()} bytes, Redis {version} ({kind}), "
        f"{os.cpu_count()} CPUs, batch {args.batch}, relay batch {args.relay_batch}",
        f"{'system':<7}{'load':<15}{'events/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'consumer RSS':>14}"
        f"  CPU µs/event pub/cons/redis",
    ]
    for f in results:
        lines.append(
            f"{f.system:<7}{f.mode:<15}{f.rate:>10,.0f}{f.p50_ms:>10.1f}{f.p99_ms:>10.1f}"
            f"{f.consumer_rss_mb:>11.0f} MB  {f.cpu_us[0]:.0f}/{f.cpu_us[1]:.0f}/{f.cpu_us[2]:.0f}"
        )
    lines += [
        f"Shian / raw throughput: {ratio:.1%} ({verdict} the {TARGET_RATIO:.0%} target).",
        "raw: pipelined XADD -> XREADGROUP COUNT n + XACK, latency publish -> ack.",
        "Shian: outbox rows in SQLite -> OutboxRelay -> StreamConsumer + InboxProcessor into SQLite,",
        "latency occurred_at -> consumer commit. Flood latencies are queueing; paced ones are steady-state.",
    ]
    lines.append("```")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
