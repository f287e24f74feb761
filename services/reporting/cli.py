"""`shian reporting ...`: rebuild the read models, render a work summary, export open data, run
against the reporting database directly (as an operator on the machine).

    shian reporting rebuild                          (--no-streams: from the archive alone)
    shian reporting summary qingyun.dongshan --period 2026-H1 --format pdf -o summary.pdf
    shian reporting export qingyun --out lives.zip
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from services.reporting.app import SPEC
from services.reporting.database import infra
from services.reporting.documents import render, writer
from services.reporting.documents import service as documents
from services.reporting.export import lives
from services.reporting.handlers import CONSUMES
from services.reporting.rebuild.service import StreamSource, rebuild
from services.reporting.statistics import periods
from services.reporting.statistics.scope import Scope
from shared.clock import SYSTEM_CLOCK, Clock, local_today
from shared.db import Database
from shared.errors import DomainError
from shared.migrations import upgrade
from shared.places import find_place
from shared.settings import Settings

app = typer.Typer(
    help="Reporting: rebuild the read models, render work summaries, export open data.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)
clock: Clock = SYSTEM_CLOCK
"""Whose today a running period is summarised up to: the machine's, as a service's is."""


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    url = settings.database_url("reporting")
    upgrade(SPEC.migrations, url)
    db = Database(url, infra=infra, stream=settings.stream("reporting"), service="reporting")
    try:
        yield db
    finally:
        db.dispose()


@app.command("rebuild")
def rebuild_command(
    streams: Annotated[
        bool, typer.Option(help="Also replay what the streams hold beyond the archive")
    ] = True,
) -> None:
    """Empty the read models and replay every event into them, with a progress bar."""
    settings = Settings()
    source = (
        StreamSource(settings.redis_url, [settings.stream(name) for name in CONSUMES]) if streams else None
    )
    with (
        _database(settings) as db,
        Progress(
            TextColumn("replaying events"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar,
    ):
        task = bar.add_task("replay", total=None)
        try:
            report = rebuild(
                db, streams=source, progress=lambda done, total: bar.update(task, completed=done, total=total)
            )
        finally:
            if source is not None:
                source.close()
    if report.streams_unavailable:
        err.print("[yellow]Redis could not be reached: rebuilt from the archive alone.[/]")
    console.print(
        f"Rebuilt in {report.seconds:.1f}s: {report.from_archive} events from the archive, "
        f"{report.from_streams} new from the streams, {report.applied} applied to read models."
    )
    if report.unresolved:
        err.print(
            f"[yellow]{report.unresolved} events change a record the read models do not hold "
            "(those from the streams are parked until it arrives).[/]"
        )


def _scope(db: Database, place_id: str) -> Scope:
    from services.reporting.database import place_directory

    with db.read_session() as session:
        place = find_place(session, place_directory, place_id)
    if place is None:
        _fail(f"{place_id!r} is not a place reporting knows")
    township = (
        place.place_id if place.level == "township" else place.parent_id if place.level == "village" else None
    )
    return Scope(
        place_id=place.place_id,
        level=place.level,
        name=place.name,
        county_id=place.county_id,
        township_id=township,
        village_id=place.place_id if place.level == "village" else None,
    )


@app.command("summary")
def summary_command(
    place: Annotated[str, typer.Argument(help="A township or county id")],
    period: Annotated[str, typer.Option(help="2026-H1, 2026-H2, 2026, 2026-Q2 or 2026-05")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the document")],
    fmt: Annotated[Literal["html", "docx", "pdf"], typer.Option("--format")] = "pdf",
) -> None:
    """Write a place's work summary for a period to a file."""
    settings = Settings()
    with _database(settings) as db:
        scope = _scope(db, place)
        if scope.level == "village":
            _fail("a work summary is written for a township or the county")
        try:
            wanted = periods.parse_period(period).at(local_today(clock))
        except DomainError as error:
            _fail(f"{error.field}: {error.reason}")
        with db.read_session() as session:
            document = writer.write(documents.collect(session, scope, wanted))
    body = {
        "html": lambda: render.html(document).encode(),
        "docx": lambda: render.docx(document),
        "pdf": lambda: render.pdf(document),
    }[fmt]()
    output.write_bytes(body)
    console.print(f"{document.title}: {output} ({len(body)} bytes)")


@app.command("export")
def export_command(
    place: Annotated[str, typer.Argument(help="A county, township or village id")],
    out: Annotated[
        Path, typer.Option(help="The zip to write (businesses.csv, inspections.csv, violations.csv)")
    ],
) -> None:
    """Write the open data of a place in the LIVES shape."""
    settings = Settings()
    with _database(settings) as db:
        scope = _scope(db, place)
        with db.read_session() as session:
            out.write_bytes(lives.to_zip(session, scope, None))
    console.print(f"LIVES files for {scope.name}: {out}")
