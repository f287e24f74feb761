"""`shian reporting ...` through the top-level `shian` app (so the mounting is tested too), against
the reporting database and Redis of a running county: rebuild keeps every figure and shows its
progress; summary writes documents; export writes the LIVES zip; bad input writes nothing."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import Result
from docx import Document
from typer.testing import CliRunner

from services.reporting.readmodels.registry import ReportBusiness
from shared.settings import Settings, get_settings
from shian.cli import app
from tests.support.county import COUNTY, DEFINITION, DONGSHAN, SHANGCUN, XISHUI
from tests.support.reporting import Known
from tests.support.services import County

HEADINGS = ("一、", "二、", "三、")


@pytest.fixture
def shian(county: County, monkeypatch: pytest.MonkeyPatch):
    """Run `shian reporting ARGS` with the SHIAN_* environment of the county's services."""
    settings: Settings = county.settings
    environment = {
        "SHIAN_ENV": settings.env,
        "SHIAN_VAR_DIR": str(settings.var_dir),
        "SHIAN_REDIS_URL": settings.redis_url,
        "SHIAN_STREAM_PREFIX": settings.stream_prefix,
        "SHIAN_SECRET_KEY": settings.secret_key or "",
        "COLUMNS": "300",  # keep rich from wrapping long paths and messages
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SHIAN_REPORTING_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, ["reporting", *args])

    yield invoke
    get_settings.cache_clear()


def flat(text: str) -> str:
    """Output with rich's line breaks and padding folded into single spaces."""
    return " ".join(text.split())


def everything(known: Known) -> list[dict]:
    return [known.stats(place) for place in (COUNTY, DONGSHAN, XISHUI)]


def test_rebuild_keeps_every_figure_and_shows_its_progress(known: Known, shian):
    live = everything(known)
    archived = known.archived()
    db = known.county.reporting.app.state.runtime.db
    with db.session() as session:  # spoil the read model: only a real replay puts it right
        session.execute(ReportBusiness.__table__.delete())
    assert everything(known) != live

    result = shian("rebuild")
    assert result.exit_code == 0, result.output
    output = flat(result.stdout)
    assert "replaying events" in output
    bar = re.search(r"(\d+)/(\d+)", output)
    assert bar and bar[1] == bar[2] and int(bar[1]) >= archived  # the archive, then the streams
    assert f"{archived} events from the archive, 0 new from the streams" in output
    assert everything(known) == live

    with db.session() as session:
        session.execute(ReportBusiness.__table__.delete())
    assert everything(known) != live
    result = shian("rebuild", "--no-streams")
    assert result.exit_code == 0, result.output
    assert f"{archived}/{archived}" in flat(result.stdout)  # the archive alone
    assert f"{archived} events from the archive, 0 new from the streams" in flat(result.stdout)
    assert everything(known) == live


def test_summary_writes_the_documents_and_export_the_lives_zip(known: Known, shian, tmp_path: Path):
    period = known.period.code

    docx_file = tmp_path / "summary.docx"
    result = shian("summary", DONGSHAN, "--period", period, "--format", "docx", "-o", str(docx_file))
    assert result.exit_code == 0, result.output
    assert str(docx_file) in flat(result.stdout)
    text = "\n".join(paragraph.text for paragraph in Document(str(docx_file)).paragraphs)
    assert "东山镇" in text and "西水乡" not in text
    assert all(heading in text for heading in HEADINGS)

    html_file = tmp_path / "summary.html"
    result = shian("summary", DONGSHAN, "--period", period, "--format", "html", "--output", str(html_file))
    assert result.exit_code == 0, result.output
    html = html_file.read_text(encoding="utf-8")
    positions = [html.index(heading) for heading in HEADINGS]
    assert positions == sorted(positions)
    assert "东山镇" in html

    zip_file = tmp_path / "lives.zip"
    result = shian("export", COUNTY, "--out", str(zip_file))
    assert result.exit_code == 0, result.output
    assert "青云县" in flat(result.stdout)
    with zipfile.ZipFile(zip_file) as archive:
        assert sorted(archive.namelist()) == ["businesses.csv", "inspections.csv", "violations.csv"]
        rows = list(csv.DictReader(io.StringIO(archive.read("businesses.csv").decode("utf-8"))))
        inspections = list(csv.DictReader(io.StringIO(archive.read("inspections.csv").decode("utf-8"))))
        violations = list(csv.DictReader(io.StringIO(archive.read("violations.csv").decode("utf-8"))))

    page = known.api("registry", "GET", "/businesses", "county", params={"limit": 500})
    townships = {township["id"]: township["name"] for township in DEFINITION["townships"]}
    expected = {
        business["id"]: {
            "name": business["name"],
            "address": business["address"] or "",
            "city": townships[business["township_id"]],
            "state": DEFINITION["name"],
            "owner_name": business["operator"] or "",
            "application_date": business["registered_on"].replace("-", ""),
            "business_certificate": next(
                (licence["number"] for licence in business["licences"] if licence["kind"] == "food_permit"),
                "",
            ),
        }
        for business in page["items"]
    }
    assert page["total"] == len(known.businesses) == len(rows)
    assert {row["business_id"]: {key: row[key] for key in expected[row["business_id"]]} for row in rows} == (
        expected
    )
    assert sorted(row["business_id"] for row in inspections) == sorted(
        inspection["business_id"] for inspection in known.inspections
    )
    assert [(row["business_id"], row["code"]) for row in violations] == [
        (known.businesses["noodles"]["id"], "2.1")
    ]


BAD_INPUT = [
    (
        ("summary", "qingyun.nowhere", "--period", "2026-H1", "--format", "html"),
        "'qingyun.nowhere' is not a place reporting knows",
    ),
    (("summary", DONGSHAN, "--period", "2026-H3", "--format", "docx"), "period: use YYYY, YYYY-H1"),
    (("summary", DONGSHAN, "--period", "1999", "--format", "html"), "period: the year must be between"),
    (
        ("summary", SHANGCUN, "--period", "2026-H1", "--format", "html"),
        "a work summary is written for a township or the county",
    ),
    (("summary", DONGSHAN, "--period", "2026-H1", "--format", "odt"), "Invalid value for '--format'"),
    (("export", "qingyun.nowhere"), "'qingyun.nowhere' is not a place reporting knows"),
]


def test_bad_input_fails_with_a_clear_message_and_writes_nothing(county: County, shian, tmp_path: Path):
    for args, message in BAD_INPUT:
        target = tmp_path / "out.file"
        where = ("--out" if args[0] == "export" else "-o", str(target))
        result = shian(*args, *where)
        assert result.exit_code != 0, args
        assert message in flat(result.stderr), (args, result.stderr)
        assert "Traceback" not in result.output
        assert not target.exists(), args

    # the same commands with good input do write: the failures above are the input's
    target = tmp_path / "out.file"
    assert shian("export", DONGSHAN, "--out", str(target)).exit_code == 0
    assert target.exists()
