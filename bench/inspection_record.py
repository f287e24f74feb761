"""Benchmark: recording inspections through the inspection service layer, and how long until the
services that consume `inspection.completed` have applied them; beside raw redis-py in the same run.

    python bench/inspection_record.py                    # 100,000 inspections over 2,000 businesses
    python bench/inspection_record.py --quick            # 5,000 inspections, a smoke run
    python bench/inspection_record.py --inspections 20000 --rate 200

Processes (as in production, each service its own process and SQLite database, one Redis):

* registry: the real registry runtime (its consumer of the inspection stream), seeded with a county
  and `--businesses` businesses through its service layer; its inbox is timed from each
  `inspection.completed` envelope's `occurred_at` to the commit that applied it.
* reporting: the same, when reporting consumes `inspection.completed` (it is skipped otherwise).
* reader: a consumer group on the inspection stream (XREADGROUP + decode), timed to the read.
* inspection: the real inspection runtime (directory consumer, outbox relay, deadline loop); once its
  directory holds every business it records `--inspections` inspections one transaction each through
  `services.inspection.inspections.service.record` (validation, verdict, items, audit, outbox,
  rectification orders), with a realistic mix of results.
* baseline: raw redis-py, a publisher doing pipelined XADD of the same envelope bodies and a consumer
  doing XREADGROUP + XACK, publish to ack, run after the Shian run.

Figures: inspections/s recorded, peak RSS of each process, and p50/p99/max of the delay until each
consumer has the event. The Redis is SHIAN_REDIS_URL if set and reachable, else a private one started
here. Streams are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/inspection_record.py` from a checkout
    sys.path.insert(0, str(REPO_ROOT))

COUNTY = "bench"
TOWNSHIPS = ("bench.dongshan", "bench.xishui")
READER_GROUP = "bench-reader"
RAW_GROUP = "bench-raw"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def report(path: str, data: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(data))


def settings_for(args: argparse.Namespace, service: str) -> Any:
    from shared.settings import Settings

    return Settings(
        env="test",
        var_dir=Path(args.workdir) / service,
        redis_url=args.redis_url,
        stream_prefix=args.prefix,
        secret_key="bench-" + "x" * 40,
        relay_poll_seconds=0.2,
    )


def county_definition() -> Any:
    from services.registry.places.models import CountyDefinition

    return CountyDefinition.model_validate(
        {
            "id": COUNTY,
            "name": "基准县",
            "townships": [
                {
                    "id": township,
                    "name": f"{name}镇",
                    "villages": [{"id": f"{township}.v{n}", "name": f"{name}{n}村"} for n in range(10)],
                }
                for township, name in zip(TOWNSHIPS, ("东山", "西水"), strict=True)
            ],
        }
    )


KINDS = ("catering", "catering", "catering", "grocery", "school_canteen", "workshop", "market", "producer")


def seed_registry(runtime: Any, businesses: int) -> None:
    """The county and its businesses, through the registry's own service layer."""
    from services.registry.businesses import commands as registry_commands
    from services.registry.businesses.models import BusinessCreate
    from services.registry.places.service import load_county
    from shared.auth import Principal, Role
    from shared.clock import SYSTEM_CLOCK

    with runtime.db.session() as session:
        load_county(session=session, definition=county_definition(), actor="county:bench")
    county = Principal(subject="bench", role=Role.county, county_id=COUNTY)
    for number in range(businesses):
        township = TOWNSHIPS[number % len(TOWNSHIPS)]
        with runtime.db.session() as session:
            registry_commands.register(
                session=session,
                principal=county,
                data=BusinessCreate(
                    name=f"基准商户{number:05d}",
                    kind=KINDS[number % len(KINDS)],  # type: ignore[arg-type]
                    village_id=f"{township}.v{number % 10}",
                    registered_on=date(2020, 1, 1),
                ),
                clock=SYSTEM_CLOCK,
            )


# --- a consuming service, timed ----------------------------------------------------------------


def applier(args: argparse.Namespace) -> None:
    asyncio.run(_applier(args))


async def _applier(args: argparse.Namespace) -> None:
    import importlib

    from shared.migrations import upgrade
    from shared.service import ServiceRuntime

    service = args.service
    spec = importlib.import_module(f"services.{service}.app").SPEC
    settings = settings_for(args, service)
    upgrade(spec.migrations, settings.database_url(service))
    runtime = ServiceRuntime(spec, settings)
    inner = runtime.processor
    latencies: list[float] = []
    state = {"applied": 0}
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    lock = threading.Lock()

    class Timed:
        """The service's inbox, timing each applied inspection.completed to its commit."""

        def handles(self, event_type: str) -> bool:
            return inner.handles(event_type)

        def process(self, envelopes: Sequence[Any]) -> Any:
            result = inner.process(envelopes)  # committed when this returns
            now = time.time()
            with lock:
                for envelope in envelopes:
                    if envelope.type == "inspection.completed" and result.outcomes.get(
                        str(envelope.event_id)
                    ) in ("applied",):
                        latencies.append(now - envelope.occurred_at.timestamp())
                        state["applied"] += 1
                if state["applied"] >= args.inspections:
                    loop.call_soon_threadsafe(done.set)
            return result

    runtime.processor = Timed()  # type: ignore[assignment]
    if args.seed:
        await asyncio.to_thread(seed_registry, runtime, args.businesses)
    await runtime.start()
    print("ready", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=args.timeout)
    await runtime.stop()
    report(args.out, {"applied": state["applied"], "latencies": latencies, "rss_mb": peak_rss_mb()})


# --- a consumer group on the inspection stream ------------------------------------------------


def reader(args: argparse.Namespace) -> None:
    import redis

    from shared.bus import decode_entry

    client = redis.Redis.from_url(args.redis_url, socket_timeout=10)
    stream = f"{args.prefix}.inspection"
    with contextlib.suppress(redis.ResponseError):  # BUSYGROUP
        client.xgroup_create(stream, READER_GROUP, id="0", mkstream=True)
    print("ready", flush=True)
    latencies: list[float] = []
    deadline = time.time() + args.timeout
    while len(latencies) < args.inspections and time.time() < deadline:
        response = client.xreadgroup(READER_GROUP, "reader-1", {stream: ">"}, count=500, block=1000)
        for _stream, entries in response or ():
            now = time.time()
            for _id, fields in entries:
                envelope = decode_entry(fields)
                if envelope.type == "inspection.completed":
                    latencies.append(now - envelope.occurred_at.timestamp())
            client.xack(stream, READER_GROUP, *[entry_id for entry_id, _fields in entries])
    report(args.out, {"applied": len(latencies), "latencies": latencies, "rss_mb": peak_rss_mb()})


# --- the inspection service, recording --------------------------------------------------------


def mixed_results(template: Any, rng: random.Random) -> list[dict[str, str]]:
    """A county's mix: most visits pass; some fail a general item, fewer a key item."""
    items = [{"code": item.code, "result": "pass"} for item in template.items]
    roll = rng.random()
    general = [n for n, item in enumerate(template.items) if not item.key]
    key = [n for n, item in enumerate(template.items) if item.key]
    if roll < 0.20:
        items[rng.choice(general)]["result"] = "fail"
    elif roll < 0.27:
        items[rng.choice(key)]["result"] = "fail"
    elif roll < 0.30:
        for n in rng.sample(key, 2):
            items[n]["result"] = "fail"
    passing = [n for n in general if items[n]["result"] == "pass"]
    if rng.random() < 0.3:
        items[rng.choice(passing)]["result"] = "not_applicable"
    return items


def recorder(args: argparse.Namespace) -> None:
    asyncio.run(_recorder(args))


async def _recorder(args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    from services.inspection.app import SPEC
    from services.inspection.checklists import templates
    from services.inspection.directory.models import DirectoryBusiness
    from services.inspection.inspections import service
    from services.inspection.inspections.models import InspectionCreate
    from shared.auth import Principal, Role
    from shared.clock import SYSTEM_CLOCK, local_today
    from shared.migrations import upgrade
    from shared.service import ServiceRuntime

    settings = settings_for(args, "inspection")
    upgrade(SPEC.migrations, settings.database_url("inspection"))
    runtime = ServiceRuntime(SPEC, settings)
    await runtime.start()
    print("ready", flush=True)

    def directory() -> list[Any]:
        with runtime.db.session() as session:
            return list(
                session.execute(
                    sa.select(DirectoryBusiness.id, DirectoryBusiness.kind, DirectoryBusiness.township_id)
                ).all()
            )

    deadline = time.time() + args.timeout
    while len(known := await asyncio.to_thread(directory)) < args.businesses and time.time() < deadline:
        await asyncio.sleep(0.2)
    rng = random.Random(42)
    today = local_today()
    inspected_at = datetime.now(UTC) - timedelta(days=1)
    inspectors = {
        township: Principal(
            subject=f"inspector-{n}", role=Role.inspector, county_id=COUNTY, township_id=township
        )
        for n, township in enumerate(TOWNSHIPS)
    }

    def body(number: int) -> tuple[str, InspectionCreate]:
        """The request an inspector's app would send (parsed as the API would), made on the fly."""
        business_id, kind, township = known[number % len(known)]
        template = templates.template_for(templates.checklist_kind_for(kind), on=today)
        return township, InspectionCreate(
            business_id=business_id,
            kind="routine",
            inspected_at=inspected_at,
            inspectors=["王强", "陈静"],
            items=mixed_results(template, rng),  # type: ignore[arg-type]
        )

    def record_all() -> None:
        started = time.perf_counter()
        for number in range(args.inspections):
            if args.rate:
                delay = started + number / args.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            township, data = body(number)
            with runtime.db.session() as session:
                service.record(session=session, principal=inspectors[township], data=data, clock=SYSTEM_CLOCK)

    rss_before = peak_rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.to_thread(record_all)
    recorded, cpu = time.perf_counter(), time.process_time() - cpu
    outbox = runtime.db.infra.outbox

    def backlog() -> int:
        with runtime.db.engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count()).where(outbox.c.published_at.is_(None))
                ).scalar_one()
            )

    while await asyncio.to_thread(backlog) > 0 and time.time() < deadline:
        await asyncio.sleep(0.05)
    drained = time.perf_counter()

    def counts() -> dict[str, int]:
        with runtime.db.engine.connect() as connection:
            return {
                table: int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in ("inspections", "inspection_items", "rectification_orders", "outbox")
            }

    rows = await asyncio.to_thread(counts)
    await runtime.stop()
    report(
        args.out,
        {
            "recorded": args.inspections,
            "record_s": recorded - started,
            "drain_s": drained - started,
            "cpu_s": cpu,
            "rows": rows,
            "rss_mb": peak_rss_mb(),
            "rss_before_mb": rss_before,
        },
    )


# --- raw redis-py baseline --------------------------------------------------------------------


def sample_body() -> bytes:
    from shared.catalogue.inspection import InspectionCompleted
    from shared.events import Envelope

    return Envelope.wrap(
        InspectionCompleted(
            inspection_id=uuid.uuid4(),
            business_id=uuid.uuid4(),
            kind="routine",
            inspected_on=date(2026, 3, 2),
            outcome="basically_compliant",
            action="written_rectification",
            score=88.0,
            dynamic_grade="good",
            failed_items=["3.2"],
            inspector="inspector:inspector-0",
        ),
        county_id=COUNTY,
        township_id=TOWNSHIPS[0],
        actor="inspector:inspector-0",
    ).to_bytes()


def raw_publisher(args: argparse.Namespace) -> None:
    import redis

    client = redis.Redis.from_url(args.redis_url)
    stream = f"{args.prefix}.raw"
    body = sample_body()
    started = time.time()
    pipe = client.pipeline(transaction=False)
    for number in range(args.inspections):
        pipe.xadd(stream, {"t": repr(time.time()), "d": body})
        if number % 500 == 499:
            pipe.execute()
    pipe.execute()
    report(args.out, {"started": started, "finished": time.time(), "rss_mb": peak_rss_mb()})


def raw_consumer(args: argparse.Namespace) -> None:
    import redis

    client = redis.Redis.from_url(args.redis_url, socket_timeout=10)
    stream = f"{args.prefix}.raw"
    client.xgroup_create(stream, RAW_GROUP, id="0", mkstream=True)
    print("ready", flush=True)
    latencies: list[float] = []
    while len(latencies) < args.inspections:
        response = client.xreadgroup(RAW_GROUP, "raw-1", {stream: ">"}, count=500, block=1000)
        for _stream, entries in response or ():
            client.xack(stream, RAW_GROUP, *[entry_id for entry_id, _fields in entries])
            now = time.time()
            latencies.extend(now - float(fields[b"t"]) for _id, fields in entries)
    report(
        args.out,
        {"applied": len(latencies), "latencies": latencies, "rss_mb": peak_rss_mb(), "last": time.time()},
    )


ROLES = {
    "applier": applier,
    "reader": reader,
    "recorder": recorder,
    "raw-publisher": raw_publisher,
    "raw-consumer": raw_consumer,
}


# --- orchestration ----------------------------------------------------------------------------


def spawn(role: str, args: argparse.Namespace, out: Path, *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--role",
        role,
        "--out",
        str(out),
        "--redis-url",
        args.redis_url,
        "--prefix",
        args.prefix,
        "--workdir",
        args.workdir,
        "--inspections",
        str(args.inspections),
        "--businesses",
        str(args.businesses),
        "--timeout",
        str(args.timeout),
        *extra,
    ]
    if args.rate:
        command += ["--rate", str(args.rate)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=args.workdir)


def wait_ready(process: subprocess.Popen[str], role: str) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.wait(timeout=30)
        raise RuntimeError(f"{role} did not start (exit {process.returncode})")


def finish(process: subprocess.Popen[str], out: Path, role: str, timeout: float) -> dict[str, Any]:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise RuntimeError(f"{role} did not finish within {timeout:.0f}s") from None
    if process.returncode != 0 or not out.exists():
        raise RuntimeError(f"{role} failed (exit {process.returncode})")
    return json.loads(out.read_text())


def reporting_consumes_inspections() -> bool:
    from services.reporting.handlers import EVENT_HANDLERS

    return any(payload.TYPE == "inspection.completed" for payload in EVENT_HANDLERS)


def delay_row(name: str, figures: dict[str, Any], expected: int) -> str:
    latencies = figures["latencies"]
    applied = figures["applied"]
    note = "" if applied >= expected else f"  (only {applied:,} of {expected:,} before the timeout)"
    p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
    worst = max(latencies, default=float("nan")) * 1000
    return (
        f"  {name:<36} p50 {p50:9.1f} ms   p99 {p99:9.1f} ms   max {worst:9.1f} ms"
        f"   peak RSS {figures['rss_mb']:6.0f} MiB{note}"
    )


def run(args: argparse.Namespace) -> None:
    root = Path(args.workdir)
    consumers: dict[str, tuple[subprocess.Popen[str], Path]] = {}
    registry_out = root / "registry.json"
    consumers["registry (applied, committed)"] = (
        spawn("applier", args, registry_out, "--service", "registry", "--seed"),
        registry_out,
    )
    if reporting_consumes_inspections():
        reporting_out = root / "reporting.json"
        consumers["reporting (applied, committed)"] = (
            spawn("applier", args, reporting_out, "--service", "reporting"),
            reporting_out,
        )
    reader_out = root / "reader.json"
    consumers["consumer group on shian.inspection"] = (spawn("reader", args, reader_out), reader_out)
    for name, (process, _out) in consumers.items():
        wait_ready(process, name)
    recorder_out = root / "recorder.json"
    recording = spawn("recorder", args, recorder_out)
    wait_ready(recording, "recorder")
    recorded = finish(recording, recorder_out, "recorder", args.timeout + 120)
    results = {
        name: finish(process, out, name, args.timeout + 120) for name, (process, out) in consumers.items()
    }

    raw_consumer_out, raw_publisher_out = root / "raw-consumer.json", root / "raw-publisher.json"
    raw_reader = spawn("raw-consumer", args, raw_consumer_out)
    wait_ready(raw_reader, "raw consumer")
    raw_writer = spawn("raw-publisher", args, raw_publisher_out)
    published = finish(raw_writer, raw_publisher_out, "raw publisher", args.timeout)
    raw = finish(raw_reader, raw_consumer_out, "raw consumer", args.timeout)

    n = recorded["recorded"]
    mode = f"paced at {args.rate:g}/s" if args.rate else "flooded"
    print(f"\ninspection_record: {n:,} inspections over {args.businesses:,} businesses, {mode}")
    print(
        f"  recorded through the service layer  {n / recorded['record_s']:9.0f} inspections/s "
        f"({recorded['record_s']:.1f} s, {recorded['cpu_s'] / n * 1e6:.0f} us CPU each), "
        f"outbox drained at {recorded['drain_s']:.1f} s"
    )
    print(
        f"  inspection process peak RSS {recorded['rss_mb']:.0f} MiB "
        f"({recorded['rss_mb'] - recorded['rss_before_mb']:+.0f} MiB while recording)"
    )
    print(f"  rows written: {recorded['rows']}")
    print("  delay from occurred_at until the consumer has it:")
    for name, figures in results.items():
        print(delay_row(name, figures, n))
    if not reporting_consumes_inspections():
        print("  reporting: does not consume inspection.completed yet (not measured)")
    raw_seconds = raw["last"] - published["started"]
    print(f"baseline: raw redis-py XADD/XREADGROUP of the same {len(sample_body())}-byte envelope")
    print(f"  {n / raw_seconds:9.0f} events/s end to end")
    print(delay_row("raw consumer group (publish to ack)", raw, n))


def cleanup(args: argparse.Namespace) -> None:
    import redis

    client = redis.Redis.from_url(args.redis_url)
    keys = list(client.scan_iter(match=f"{args.prefix}.*"))
    if keys:
        client.delete(*keys)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--role", choices=sorted(ROLES))
    parser.add_argument("--out")
    parser.add_argument("--service", default="registry")
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--redis-url", default=os.environ.get("SHIAN_REDIS_URL"))
    parser.add_argument("--prefix", default=f"bench{uuid.uuid4().hex[:8]}")
    parser.add_argument("--workdir")
    parser.add_argument("--inspections", type=int, default=100_000)
    parser.add_argument("--businesses", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=None, help="inspections per second (default: flood)")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--quick", action="store_true", help="5,000 inspections over 500 businesses")
    args = parser.parse_args(argv)
    if args.role:
        ROLES[args.role](args)
        return
    if args.quick:
        args.inspections, args.businesses = 5_000, 500
    workdir = tempfile.mkdtemp(prefix="shian-bench-inspection-")
    args.workdir = workdir
    handle = None
    try:
        if not _reachable(args.redis_url):
            from shared.localredis import start_local_redis

            handle = start_local_redis(Path(workdir) / "redis")
            args.redis_url = handle.url
        run(args)
    finally:
        try:
            cleanup(args)
        finally:
            if handle is not None:
                handle.stop()
            shutil.rmtree(workdir, ignore_errors=True)


def _reachable(url: str | None) -> bool:
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


if __name__ == "__main__":
    main()
