"""Benchmark: importing a county ledger of 20,000 businesses, and searching the register after it.

    python bench/registry_import.py [--rows 20000] [--queries 300]

Prints rows per second and peak Python memory (tracemalloc) of the import beside a baseline measured
in the same run on the same file: a plain `csv.reader` pass. Then the latency (p50/p99) of register
searches (Chinese free text, filters, licence state, sorting, paging) beside a baseline of the same
LIKE query in raw SQLite. Everything runs on a temporary SQLite database; no Redis is needed (the
events wait in the outbox).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from services.registry.app import SPEC
from services.registry.businesses import queries as businesses
from services.registry.businesses.models import BusinessFilter
from services.registry.database import infra
from services.registry.imports import ledger
from services.registry.imports import service as imports
from services.registry.places.models import CountyDefinition
from services.registry.places.service import load_county
from shared.auth import Principal, Role
from shared.db import Database
from shared.migrations import upgrade

COUNTY = "benchcounty"
TODAY = date(2026, 3, 2)
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"
TRADES = ["饭店", "餐馆", "小吃", "面馆", "杂货店", "副食店", "豆腐坊", "酒厂", "农家乐", "烧烤摊"]
KINDS = list(ledger.KIND_LABELS.values())


def definition(townships: int = 12, villages: int = 15) -> CountyDefinition:
    return CountyDefinition.model_validate(
        {
            "id": COUNTY,
            "name": "基准县",
            "townships": [
                {
                    "id": f"{COUNTY}.t{t:02d}",
                    "name": f"第{t}镇",
                    "villages": [
                        {"id": f"{COUNTY}.t{t:02d}.v{v:02d}", "name": f"{t}镇{v}村"} for v in range(villages)
                    ],
                }
                for t in range(townships)
            ],
        }
    )


def write_ledger(path: Path, rows: int, county: CountyDefinition) -> None:
    villages = [village.name for township in county.townships for village in township.villages]
    rng = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([column.label for column in ledger.COLUMNS])
        for n in range(rows):
            issued = date(2021, 1, 1) + timedelta(days=rng.randrange(1800))
            writer.writerow(
                [
                    f"{rng.choice(SURNAMES)}记{rng.choice(TRADES)}{n}",
                    rng.choice(KINDS),
                    rng.choice(villages),
                    f"{rng.choice(SURNAMES)}{rng.choice(SURNAMES)}",
                    f"新街{n}号",
                    (issued - timedelta(days=30)).isoformat(),
                    f"{29 + rng.random():.5f}",
                    f"{121 + rng.random():.5f}",
                    f"9233{n:010d}",
                    issued.isoformat(),
                    (issued + timedelta(days=3650)).isoformat(),
                    f"JY{n:012d}",
                    issued.isoformat(),
                    (issued + timedelta(days=1825)).isoformat(),
                ]
            )


def fresh_database(directory: Path, name: str, county: CountyDefinition) -> Database:
    url = f"sqlite:///{directory / name}"
    upgrade(SPEC.migrations, url)
    db = Database(url, infra=infra, stream="bench.registry", service="registry")
    with db.session() as session:
        load_county(session=session, definition=county, actor="bench")
    return db


def measured(work: Callable[[], Any], *, trace: bool) -> tuple[float, int]:
    """Seconds, and peak traced bytes (0 when not traced)."""
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    peak = 0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return seconds, peak


def baseline_pass(data: bytes) -> None:
    for _row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
        pass


def import_pass(db: Database, data: bytes, principal: Principal) -> None:
    rows = ledger.read(data, "csv")
    with db.session() as session:
        report = imports.import_ledger(session=session, principal=principal, rows=rows, today=TODAY)
    if report.rejected:
        raise SystemExit(f"unexpected rejections: {report.rejected[:3]}")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    county = definition()
    principal = Principal(subject="bench", role=Role.county, county_id=COUNTY)

    with tempfile.TemporaryDirectory(prefix="shian-bench-") as tmp:
        directory = Path(tmp)
        source = directory / "ledger.csv"
        write_ledger(source, args.rows, county)
        data = source.read_bytes()
        print(f"ledger: {args.rows} rows, {len(data) / 1e6:.1f} MB, {len(county.townships)} townships\n")

        base_s, _ = measured(lambda: baseline_pass(data), trace=False)
        _, base_peak = measured(lambda: baseline_pass(data), trace=True)
        timed_db = fresh_database(directory, "timed.db", county)
        import_s, _ = measured(lambda: import_pass(timed_db, data, principal), trace=False)
        traced_db = fresh_database(directory, "traced.db", county)
        _, import_peak = measured(lambda: import_pass(traced_db, data, principal), trace=True)
        traced_db.dispose()

        print(f"{'':32}{'rows/s':>12}{'seconds':>10}{'peak MB':>10}")
        line = "{:32}{:>12,.0f}{:>10.2f}{:>10.1f}"
        print(line.format("baseline: csv.reader pass", args.rows / base_s, base_s, base_peak / 1e6))
        print(line.format("import (check, write, events)", args.rows / import_s, import_s, import_peak / 1e6))

        rng = random.Random(11)
        township = Principal(
            subject="bench", role=Role.township, county_id=COUNTY, township_id=f"{COUNTY}.t03"
        )
        searches: list[tuple[Principal, BusinessFilter, int]] = []
        for _ in range(args.queries):
            who = rng.choice([principal, township])
            choice = rng.randrange(5)
            if choice == 0:
                filters = BusinessFilter(text=rng.choice(TRADES))
            elif choice == 1:
                filters = BusinessFilter(text=f"{rng.choice(SURNAMES)}记")
            elif choice == 2:
                filters = BusinessFilter(kind=rng.choice(list(ledger.KIND_LABELS)), sort="-registered_on")
            elif choice == 3:
                filters = BusinessFilter(licence_state=rng.choice(["expired", "expiring", "valid"]))
            else:
                filters = BusinessFilter(risk_level=rng.choice("ABCD"), sort="-name")  # type: ignore[arg-type]
            searches.append((who, filters, rng.randrange(0, 200, 50)))
        latencies = []
        with timed_db.session() as session:
            for who, filters, offset in searches:
                started = time.perf_counter()
                businesses.to_read(
                    session,
                    businesses.search(
                        session=session, principal=who, offset=offset, limit=50, filters=filters, today=TODAY
                    )[0],
                )
                latencies.append(time.perf_counter() - started)
        raw = sqlite3.connect(timed_db.url.removeprefix("sqlite:///"))
        baseline_latencies = []
        for _who, filters, offset in searches:
            started = time.perf_counter()
            raw.execute(
                "SELECT * FROM businesses WHERE county_id = ? AND name LIKE ? "
                "ORDER BY name LIMIT 50 OFFSET ?",
                (COUNTY, f"%{filters.text or ''}%", offset),
            ).fetchall()
            baseline_latencies.append(time.perf_counter() - started)
        raw.close()
        timed_db.dispose()
        p50, p99 = percentiles(latencies)
        b50, b99 = percentiles(baseline_latencies)
        print(
            f"\nsearch over {args.rows} businesses, {args.queries} queries "
            "(a page of 50 with licences, and the total)"
        )
        print(f"{'':32}{'p50 ms':>12}{'p99 ms':>10}")
        print(f"{'baseline: raw SQLite LIKE page':32}{b50:>12.2f}{b99:>10.2f}")
        print(f"{'register search':32}{p50:>12.2f}{p99:>10.2f}")


if __name__ == "__main__":
    main()
