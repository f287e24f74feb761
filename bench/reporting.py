"""Benchmark: reporting's read models, rebuild, statistics and work summary, each beside a baseline
measured in the same run on the same data.

    python bench/reporting.py                     # 1,000,000 events, a county of 20,000 businesses
    python bench/reporting.py --events 200000     # fewer events (same county)
    python bench/reporting.py --quick             # 50,000 events, 2,000 businesses: a smoke run

In one process, on a SQLite file in a temporary directory (the embedded default):

* apply: a synthetic county's events (places, businesses with licences and staff certificates,
  inspections with failed items and rectification orders, complaints, incidents, banquets, letters)
  applied through `InboxProcessor` with reporting's handlers in batches of `--batch` (the live
  consumer's path: inbox, archive, projections). Baseline: the same batches as raw executemany
  INSERTs of one row per event into a plain table (the cost of just storing the events).
* rebuild: `services.reporting.rebuild.service.rebuild` from the archive. Baseline: reading and
  decoding the archive alone.
* statistics: a county's half-year statistics (every figure), median of `--repeat` runs. Baseline:
  ten hand-written aggregate queries (GROUP BY) over the same read-model tables.
* summary: the county's half-year summary, collected and rendered as HTML, DOCX and PDF. Baseline:
  the statistics query alone (the data the document is written from).
"""

from __future__ import annotations

import argparse
import random
import statistics as stats
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.reporting.app import SPEC
from services.reporting.database import infra
from services.reporting.documents import render, writer
from services.reporting.documents import service as documents
from services.reporting.handlers import EVENT_HANDLERS
from services.reporting.readmodels.archive import ArchivedEvent
from services.reporting.rebuild.service import rebuild
from services.reporting.statistics import service as statistics
from services.reporting.statistics.periods import parse_period
from services.reporting.statistics.scope import Scope
from shared.catalogue import alerts as a
from shared.catalogue import inspection as i
from shared.catalogue import registry as r
from shared.db import Database
from shared.events import Envelope, EventPayload
from shared.inbox import InboxProcessor
from shared.migrations import upgrade

COUNTY = "bench"
KINDS = (
    "catering",
    "catering",
    "catering",
    "workshop",
    "grocery",
    "school_canteen",
    "market",
    "street_vendor",
)
START = date(2025, 7, 1)
DAYS = 365  # 2025-H2 and 2026-H1: the half-year measured and the one it is compared with


class County:
    """Generates the events of a synthetic county, in an order a live system could produce."""

    def __init__(self, businesses: int, townships: int, villages: int, seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.townships = [f"{COUNTY}.t{n:02d}" for n in range(townships)]
        self.villages = {t: [f"{t}.v{n:02d}" for n in range(villages)] for t in self.townships}
        self.businesses: list[tuple[uuid.UUID, str, str]] = []
        self.count = businesses

    def envelope(self, payload: EventPayload, township: str | None, day: date) -> Envelope:
        moment = datetime(day.year, day.month, day.day, 2, tzinfo=UTC) + timedelta(
            seconds=self.random.randint(0, 30000)
        )
        return Envelope.wrap(
            payload, county_id=COUNTY, township_id=township, actor="bench", occurred_at=moment
        )

    def day(self) -> date:
        return START + timedelta(days=self.random.randrange(DAYS))

    def events(self, total: int) -> Iterator[Envelope]:
        produced = 0
        first = date(2025, 1, 1)
        yield self.envelope(r.PlaceDefined(place_id=COUNTY, level="county", name="基准县"), None, first)
        for t_index, township in enumerate(self.townships):
            yield self.envelope(
                r.PlaceDefined(place_id=township, level="township", name=f"第{t_index}镇", parent_id=COUNTY),
                township,
                first,
            )
            for v_index, village in enumerate(self.villages[township]):
                place = r.PlaceDefined(
                    place_id=village, level="village", name=f"第{v_index}村", parent_id=township
                )
                yield self.envelope(place, township, first)
        for _ in range(self.count):
            township = self.random.choice(self.townships)
            village = self.random.choice(self.villages[township])
            business_id = uuid.uuid4()
            self.businesses.append((business_id, township, village))
            registered = date(2024, 1, 1) + timedelta(days=self.random.randrange(900))
            yield self.envelope(
                r.BusinessRegistered(
                    business_id=business_id,
                    name="店",
                    kind=self.random.choice(KINDS),
                    village_id=village,
                    risk_level=self.random.choice("ABCD"),
                    registered_on=registered,
                ),
                township,
                registered,
            )
            issued = registered
            yield self.envelope(
                r.LicenceRecorded(
                    business_id=business_id,
                    licence_kind="food_permit",
                    number="JY",
                    issued_on=issued,
                    expires_on=issued + timedelta(days=self.random.choice((365, 1825))),
                ),
                township,
                issued,
            )
            staff = uuid.uuid4()
            yield self.envelope(
                r.StaffRecorded(staff_id=staff, business_id=business_id, name="员工"), township, issued
            )
            yield self.envelope(
                r.CertificateRecorded(
                    certificate_id=uuid.uuid4(),
                    staff_id=staff,
                    business_id=business_id,
                    staff_name="员工",
                    issued_on=issued,
                    expires_on=issued + timedelta(days=365),
                ),
                township,
                issued,
            )
            produced += 4
        while produced < total:
            business_id, township, village = self.random.choice(self.businesses)
            day = self.day()
            roll = self.random.random()
            if roll < 0.80:
                inspection = uuid.uuid4()
                failed = ["2.1"] if self.random.random() < 0.2 else []
                yield self.envelope(
                    i.InspectionCompleted(
                        inspection_id=inspection,
                        business_id=business_id,
                        kind=self.random.choice(("routine", "routine", "campaign", "school")),
                        inspected_on=day,
                        outcome="basically_compliant" if failed else "compliant",
                        action="written_rectification" if failed else "pass",
                        score=80 if failed else 95,
                        dynamic_grade="good" if failed else "excellent",
                        failed_items=failed,
                        inspector="i",
                    ),
                    township,
                    day,
                )
                produced += 1
                if failed:
                    order = uuid.uuid4()
                    deadline = day + timedelta(days=15)
                    yield self.envelope(
                        i.RectificationOrdered(
                            order_id=order,
                            business_id=business_id,
                            inspection_id=inspection,
                            item_code="2.1",
                            severity="general",
                            deadline=deadline,
                        ),
                        township,
                        day,
                    )
                    yield self.envelope(
                        i.RectificationVerified(
                            order_id=order,
                            business_id=business_id,
                            inspection_id=uuid.uuid4(),
                            item_code="2.1",
                            deadline=deadline,
                            verified_on=deadline,
                            on_time=True,
                        ),
                        township,
                        deadline,
                    )
                    produced += 2
            elif roll < 0.90:
                complaint = uuid.uuid4()
                yield self.envelope(
                    i.ComplaintReceived(
                        complaint_id=complaint,
                        channel="phone",
                        kind="complaint",
                        business_id=business_id,
                        received_on=day,
                        accept_due=day + timedelta(days=9),
                        verify_due=day + timedelta(days=21),
                    ),
                    township,
                    day,
                )
                yield self.envelope(
                    i.ComplaintClosed(
                        complaint_id=complaint, result="办结", closed_on=day + timedelta(days=5), in_time=True
                    ),
                    township,
                    day + timedelta(days=5),
                )
                produced += 2
            elif roll < 0.97:
                yield self.envelope(
                    r.BanquetFiled(
                        banquet_id=uuid.uuid4(),
                        village_id=village,
                        host="家",
                        held_on=day + timedelta(days=5),
                        filed_on=day,
                        people=80,
                        tables=8,
                        filing_required=True,
                        late=False,
                        guidance_due=False,
                    ),
                    township,
                    day,
                )
                produced += 1
            else:
                incident = uuid.uuid4()
                reported = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)
                yield self.envelope(
                    a.IncidentReported(
                        incident_id=incident,
                        village_id=village,
                        place_kind="banquet",
                        ill_count=12,
                        death_count=0,
                        level="below_IV",
                        reported_at=reported,
                        description="腹泻",
                    ),
                    township,
                    day,
                )
                yield self.envelope(
                    a.AlertAcknowledged(incident_id=incident, acknowledged_by="t", seconds_since_report=900),
                    township,
                    day,
                )
                yield self.envelope(
                    a.IncidentClosed(incident_id=incident, cause="查明", seconds_since_report=86400),
                    township,
                    day,
                )
                produced += 3


def batches(source: Iterator[Envelope], size: int) -> Iterator[list[Envelope]]:
    batch: list[Envelope] = []
    for envelope in source:
        batch.append(envelope)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def median_seconds(run, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return stats.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--businesses", type=int, default=20_000)
    parser.add_argument("--townships", type=int, default=20)
    parser.add_argument("--villages", type=int, default=12, help="per township")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.events, args.businesses, args.repeat = 50_000, 2_000, 3

    with tempfile.TemporaryDirectory(prefix="shian-bench-reporting-") as folder:
        url = f"sqlite:///{Path(folder) / 'reporting.db'}"
        upgrade(SPEC.migrations, url)
        db = Database(url, infra=infra, stream="bench.reporting", service="reporting")
        processor = InboxProcessor(db, "reporting", EVENT_HANDLERS)
        county = County(args.businesses, args.townships, args.villages)
        generated: list[list[Envelope]] = list(batches(county.events(args.events), args.batch))
        total = sum(len(batch) for batch in generated)
        print(
            f"county: {args.businesses} businesses, {args.townships} townships; "
            f"{total} events in batches of {args.batch}"
        )

        started = time.perf_counter()
        for batch in generated:
            result = processor.process(batch)
            assert not result.errors, next(iter(result.errors.values()))
        applied = time.perf_counter() - started

        baseline_table = sa.Table(
            "bench_events",
            sa.MetaData(),
            sa.Column("event_id", sa.String(36), primary_key=True),
            sa.Column("event_type", sa.String(80)),
            sa.Column("body", sa.LargeBinary),
        )
        baseline_table.create(db.engine)
        started = time.perf_counter()
        for batch in generated:
            with db.engine.begin() as connection:
                connection.execute(
                    baseline_table.insert(),
                    [
                        {"event_id": str(e.event_id), "event_type": e.type, "body": e.to_bytes()}
                        for e in batch
                    ],
                )
        raw_insert = time.perf_counter() - started
        del generated

        started = time.perf_counter()
        report = rebuild(db)
        rebuilt = time.perf_counter() - started
        started = time.perf_counter()
        with db.read_session() as session:
            for body in session.execute(sa.select(ArchivedEvent.__table__.c.body)).scalars():
                Envelope.from_bytes(body).parse_payload()
        decoded = time.perf_counter() - started

        scope = Scope(place_id=COUNTY, level="county", name="基准县", county_id=COUNTY)
        period = parse_period("2026-H1")
        with db.read_session() as session:
            figures = statistics.statistics(session, scope, period)
            query = median_seconds(lambda: statistics.statistics(session, scope, period), args.repeat)
            aggregates = [
                f"SELECT kind, count(*) FROM report_inspections WHERE county_id='{COUNTY}' "
                "AND inspected_on BETWEEN '2026-01-01' AND '2026-06-30' GROUP BY kind",
                f"SELECT outcome, count(*) FROM report_inspections WHERE county_id='{COUNTY}' "
                "AND inspected_on BETWEEN '2026-01-01' AND '2026-06-30' GROUP BY outcome",
                f"SELECT kind, count(*) FROM report_businesses WHERE county_id='{COUNTY}' GROUP BY kind",
                f"SELECT status, count(*) FROM report_businesses WHERE county_id='{COUNTY}' GROUP BY status",
                "SELECT count(*) FROM report_rectifications WHERE ordered_on "
                "BETWEEN '2026-01-01' AND '2026-06-30'",
                "SELECT on_time, count(*) FROM report_rectifications WHERE verified_on "
                "BETWEEN '2026-01-01' AND '2026-06-30' GROUP BY on_time",
                "SELECT count(*) FROM report_complaints WHERE received_on "
                "BETWEEN '2026-01-01' AND '2026-06-30'",
                "SELECT level, count(*) FROM report_incidents GROUP BY level",
                "SELECT count(*) FROM report_banquets WHERE filed_on BETWEEN '2026-01-01' AND '2026-06-30'",
                "SELECT count(DISTINCT business_id) FROM report_inspections WHERE inspected_on "
                "BETWEEN '2026-01-01' AND '2026-06-30'",
            ]
            raw_query = median_seconds(
                lambda: [session.execute(sa.text(sql)).all() for sql in aggregates], args.repeat
            )

            def document(fmt: str) -> None:
                data = documents.collect(session, scope, period)
                written = writer.write(data)
                {"html": render.html, "docx": render.docx, "pdf": render.pdf}[fmt](written)

            render.pdf(writer.write(documents.collect(session, scope, period)))  # warm: fonts, matplotlib
            summary = {
                fmt: median_seconds(lambda fmt=fmt: document(fmt), max(1, args.repeat // 2))
                for fmt in ("html", "docx", "pdf")
            }

        db.dispose()

    inspections = figures.value("inspections.total")
    print(
        f"county half-year: {int(inspections)} inspections, "
        f"{int(figures.value('businesses.registered'))} businesses"
    )
    print()
    print(f"{'measure':44} {'shian':>14} {'baseline':>14}")
    print(
        f"{'apply events (events/s)':44} {total / applied:>14,.0f} {total / raw_insert:>14,.0f}"
        "  (raw INSERT of the events)"
    )
    print(
        f"{'rebuild from the archive (s)':44} {rebuilt:>14.1f} {decoded:>14.1f}  (read + decode the archive)"
    )
    print(f"{'  rebuild rate (events/s)':44} {report.from_archive / rebuilt:>14,.0f}")
    print(
        f"{'county half-year statistics (ms, median)':44} {query * 1000:>14.0f} {raw_query * 1000:>14.0f}"
        "  (10 raw aggregates)"
    )
    for fmt, seconds in summary.items():
        label = f"county summary {fmt} (ms, median)"
        print(
            f"{label:44} {seconds * 1000:>14.0f} {2 * query * 1000:>14.0f}"
            "  (statistics x2: this and the previous half)"
        )


if __name__ == "__main__":
    main()
