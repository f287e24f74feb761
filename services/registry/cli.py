"""`shian registry ...`: the ledger import and export, and the expiry scan, run against the
registry's database directly (as an operator on the machine). Events wait in the outbox until
the registry's relay publishes them, so Redis need not be up.

    shian registry import ledger.xlsx --place qingyun.dongshan     (--dry-run, --report rejected.csv)
    shian registry export register.csv --place qingyun.dongshan
    shian registry expiry-scan                                      (--days 30, --today 2026-06-30)

`import` exits 0 when every row was taken, 1 when some rows were rejected (the others are
imported), 2 when the file or the place cannot be used.
"""

from __future__ import annotations

import csv
import getpass
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session

from services.registry.app import SPEC
from services.registry.database import infra
from services.registry.expiry.scheduler import run_scan
from services.registry.imports import ledger, service
from services.registry.imports.models import ImportReport, Rejection
from services.registry.places.models import Place
from shared.auth import Principal, Role
from shared.clock import LOCAL_ZONE, SYSTEM_CLOCK, Clock, ManualClock, local_today
from shared.db import Database
from shared.migrations import upgrade
from shared.settings import Settings
from shared.spreadsheet import safe_row

app = typer.Typer(
    help="The registry: import and export the business ledger, run the expiry scan.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

STAGES = {"validate": "checking rows", "write": "registering"}


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def _database() -> Iterator[Database]:
    settings = Settings()
    url = settings.database_url("registry")
    upgrade(SPEC.migrations, url)
    db = Database(url, infra=infra, stream=settings.stream("registry"), service="registry")
    try:
        yield db
    finally:
        db.dispose()


def _principal(session: Session, place_id: str, actor: str) -> Principal:
    """The operator acts as the office of the place: a township, or the whole county."""
    place = session.get(Place, place_id)
    if place is None or place.level not in ("county", "township"):
        _fail(f"{place_id!r} is not a county or township in the register")
    if place.level == "county":
        return Principal(subject=actor, role=Role.county, county_id=place.county_id)
    return Principal(subject=actor, role=Role.township, county_id=place.county_id, township_id=place.id)


def _format(path: Path) -> ledger.LedgerFormat:
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "csv":
        return "csv"
    if suffix == "xlsx":
        return "xlsx"
    _fail(f"{path.name}: use a .csv or .xlsx file")


PlaceOption = Annotated[str, typer.Option("--place", help="Township (or county) id whose office acts")]
ActorOption = Annotated[str, typer.Option("--as", help="Who is acting (for the audit log)")]


@app.command("import")
def import_ledger(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The ledger (.csv or .xlsx)")],
    place: PlaceOption,
    dry_run: Annotated[bool, typer.Option(help="Check every row, write nothing")] = False,
    report: Annotated[Path | None, typer.Option(help="Write the rejected rows to this CSV")] = None,
    actor: ActorOption = getpass.getuser(),
) -> None:
    """Register the businesses of a township's ledger; rejected rows are listed with the reason."""
    fmt = _format(path)
    with path.open("rb") as source, ExitStack() as stack:
        try:
            rows = ledger.Ledger(source, fmt)  # read from the file row by row, as the API does
        except ledger.LedgerError as error:
            _fail(f"{path.name}: {error}")
        on_rejected = None
        if report is not None:
            handle = stack.enter_context(report.open("w", newline="", encoding="utf-8-sig"))
            writer = csv.writer(handle)
            writer.writerow(["row", "column", "reason"])

            def on_rejected(item: Rejection) -> None:
                writer.writerow(safe_row((item.row, item.field, item.reason)))

        try:
            result = _import(rows, place, actor, dry_run, on_rejected)
        except ledger.LedgerError as error:  # a workbook's rows past its limits: nothing was written
            _fail(f"{path.name}: {error}")
    verb = "would register" if dry_run else "registered"
    console.print(
        f"{result.rows} rows: {verb} {result.accepted if dry_run else result.imported}, "
        f"rejected {result.rejected_rows}"
    )
    if result.rejected_count:
        table = Table("row", "column", "reason", title="rejected rows")
        for item in result.rejected[:50]:
            table.add_row(str(item.row), item.field, escape(item.reason))
        console.print(table)
        if result.rejected_count > 50:
            console.print(f"... and {result.rejected_count - 50} more")
        if report is not None:
            console.print(f"rejections written to {report}")
        raise typer.Exit(1)


def _import(
    rows: ledger.Ledger,
    place: str,
    actor: str,
    dry_run: bool,
    on_rejected: Callable[[Rejection], None] | None,
) -> ImportReport:
    with _database() as db, db.session() as session:
        principal = _principal(session, place, actor)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            tasks = {stage: bar.add_task(label, total=None) for stage, label in STAGES.items()}

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(tasks[stage], completed=done, total=total)

            result = service.import_ledger(
                session=session,
                principal=principal,
                rows=rows,
                today=local_today(SYSTEM_CLOCK),
                dry_run=dry_run,
                progress=progress,
                on_rejected=on_rejected,
            )
    return result


@app.command("export")
def export_ledger(
    path: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write (.csv or .xlsx)")],
    place: PlaceOption,
    actor: ActorOption = getpass.getuser(),
) -> None:
    """Write the register of a township (or the county) in the ledger's shape."""
    fmt = _format(path)
    with _database() as db, db.session() as session:
        principal = _principal(session, place, actor)
        total = service.count_in_scope(session=session, principal=principal)
        with Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
            task = bar.add_task("export", total=total)

            def counted() -> Iterator[dict]:
                for row in service.export_rows(
                    session=session, principal=principal, today=local_today(SYSTEM_CLOCK)
                ):
                    bar.advance(task)
                    yield row

            path.write_bytes(ledger.write(counted(), fmt))
    console.print(f"{total} businesses written to {path}")


@app.command("expiry-scan")
def expiry_scan(
    days: Annotated[
        int | None, typer.Option(min=0, help="Warning window in days (default: the rule table's)")
    ] = None,
    today: Annotated[
        str | None, typer.Option(help="Scan as of this date, YYYY-MM-DD (default: today)")
    ] = None,
) -> None:
    """Announce the health certificates, licences and permits expiring or expired; each fact once,
    however often this runs beside the service's own daily scan."""
    clock: Clock = SYSTEM_CLOCK
    if today is not None:
        try:
            day = date.fromisoformat(today)
        except ValueError:
            _fail(f"--today {today!r} is not a date (YYYY-MM-DD)")
        clock = ManualClock(datetime.combine(day, time(12), tzinfo=LOCAL_ZONE))
    settings = Settings()
    upgrade(SPEC.migrations, settings.database_url("registry"))
    result = run_scan(settings, clock=clock, warning_days=days)
    if not result.emitted:
        console.print(f"{result.today}: nothing new to announce")
        return
    for event_type, count in sorted(result.emitted.items()):
        console.print(f"{result.today}: {event_type} x {count}")
