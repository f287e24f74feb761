"""Ledger import and export (CSV, XLSX), through the API and the CLI."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from services.registry.cli import app as cli
from services.registry.imports import ledger, service
from shared.auth import Principal, Role
from shared.settings import Settings
from tests.support.county import COUNTY, DONGSHAN
from tests.support.registry import WRITES_NOTHING, Registry

HEADER = ",".join(column.label for column in ledger.COLUMNS)  # 名称,类型,所在村,...
ROWS = [
    "好味餐馆,餐饮单位,上村,赵大厨,东山镇新街1号,2025/3/1,29.87,121.55,,,,JY100,2024年1月1日,2029-01-01",
    "东山小学食堂,学校食堂,qingyun.dongshan.xiacun,,,,,,,,,,,",
    "坏行,spaceship,上村,,,,,,,,,,,",
    "无村饭店,餐饮单位,火星村,,,,,,,,,,,",
    "重号饭店,餐饮单位,上村,,,,,,,,,JY100,2024-01-01,2029-01-01",
    "倒期饭店,餐饮单位,上村,,,,,,,,,JY101,2024-01-01,2023-01-01",
    ",餐饮单位,上村,,,,,,,,,,,",
    "半坐标饭店,餐饮单位,上村,,,,29.8,,,,,,,",
    "未来饭店,小餐馆,上村,,,2099-01-01,,,,,,,,",
    "河村饭店,餐饮单位,河村,,,,,,,,,,,",
    ",,,,,,,,,,,,,",
]
EXPECTED_REJECTIONS = {
    4: "kind",
    5: "village",
    6: "food_permit_number",
    7: "food_permit_expires_on",
    8: "name",
    9: "longitude",
    10: "registered_on",
    11: "village",  # another township's village
}


def ledger_csv(rows: list[str] = ROWS, encoding: str = "utf-8") -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode(encoding)


def post(registry: Registry, body: bytes, who: str = "dongshan", **params: object):
    return registry.as_(who, "POST", "/imports/businesses", content=body, params=params)


def test_rows_are_checked_one_by_one_and_the_good_ones_registered_together(registry: Registry):
    response = post(registry, ledger_csv())
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["accepted"], report["imported"], report["dry_run"]) == (10, 2, 2, False)
    assert {item["row"]: item["field"] for item in report["rejected"]} == EXPECTED_REJECTIONS

    listed = {item["name"]: item for item in registry.as_("dongshan", "GET", "/businesses").json()["items"]}
    assert set(listed) == {"好味餐馆", "东山小学食堂"}
    assert listed["东山小学食堂"]["risk_level"] == "D"
    assert listed["好味餐馆"]["registered_on"] == "2025-03-01"
    assert listed["好味餐馆"]["licences"] == [
        {"kind": "food_permit", "number": "JY100", "issued_on": "2024-01-01", "expires_on": "2029-01-01"}
    ]
    assert len(registry.events("business.registered")) == 2
    assert len(registry.events("licence.recorded")) == 1
    assert registry.counts("audit_log")["audit_log"] >= 2 + 1  # per business, and the import itself

    again = post(registry, ledger_csv()).json()  # a re-run registers nobody twice
    assert again["imported"] == 0
    assert {item["row"] for item in again["rejected"] if item["field"] == "name"} >= {2, 3}


def test_a_dry_run_and_an_unreadable_file_write_nothing(registry: Registry):
    before = registry.counts(*WRITES_NOTHING)
    dry = post(registry, ledger_csv(), dry_run=True).json()
    assert (dry["accepted"], dry["imported"], dry["dry_run"]) == (2, 0, True)
    for body, params in [
        (b"name,colour\nx,red\n", {}),
        (b"", {}),
        ("名称,类型\nx,catering\n".encode(), {}),  # the village column is missing
        (b"not a workbook", {"format": "xlsx"}),
    ]:
        response = post(registry, body, **params)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"][-1] == "file"
    assert post(registry, ledger_csv(), format="pdf").status_code == 422
    assert post(registry, ledger_csv(), who="inspector").status_code == 403
    assert post(registry, ledger_csv(), who="shangcun").status_code == 403
    assert registry.counts(*WRITES_NOTHING) == before


def test_a_gb18030_csv_from_chinese_excel_is_read(registry: Registry):
    report = post(registry, ledger_csv(ROWS[:2], encoding="gb18030")).json()
    assert report["imported"] == 2, report


def test_an_xlsx_ledger_with_date_and_number_cells(registry: Registry):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([column.label for column in ledger.COLUMNS])
    sheet.append(["好味餐馆", "小餐馆", "上村", None, None, datetime(2025, 3, 1), 29.87, 121.55,
                  923301020001, datetime(2024, 6, 1), datetime(2044, 5, 31), None, None, None])  # fmt: skip
    sheet.append(
        ["坏行", "餐饮单位", "上村", None, None, None, None, None, None, None, None, "JY1", None, None]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = post(registry, buffer.getvalue(), format="xlsx").json()
    assert report["imported"] == 1
    assert [(item["row"], item["field"]) for item in report["rejected"]] == [
        (3, "food_permit_issued_on"),
        (3, "food_permit_expires_on"),
    ]
    business = registry.as_("dongshan", "GET", "/businesses", params={"q": "923301020001"}).json()["items"][0]
    assert business["kind"] == "catering" and business["latitude"] == 29.87


def test_the_accepted_rows_are_all_written_or_none(registry: Registry, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(service, "CHUNK", 1)
    calls = []

    def failing_emit_many(session, envelopes):  # the second chunk fails half-way through the write
        calls.append(len(envelopes))
        if len(calls) == 2:
            raise RuntimeError("disk full")

    monkeypatch.setattr(service, "emit_many", failing_emit_many)
    before = registry.counts(*WRITES_NOTHING)
    principal = Principal(subject="t", role=Role.township, county_id=COUNTY, township_id=DONGSHAN)
    with pytest.raises(RuntimeError), registry.runtime.db.session() as session:
        service.import_ledger(
            session=session, principal=principal, rows=ledger.read(ledger_csv(), "csv"), today=registry.today
        )
    assert registry.counts(*WRITES_NOTHING) == before


def test_progress_is_reported_per_stage(registry: Registry):
    seen: list[tuple[str, int, int]] = []
    principal = Principal(subject="t", role=Role.township, county_id=COUNTY, township_id=DONGSHAN)
    with registry.runtime.db.session() as session:
        service.import_ledger(
            session=session,
            principal=principal,
            rows=ledger.read(ledger_csv(), "csv"),
            today=registry.today,
            progress=lambda *step: seen.append(step),
        )
    assert seen == [("validate", 10, 10), ("write", 2, 2)]


def test_the_export_has_the_ledgers_shape(registry: Registry):
    post(registry, ledger_csv())
    registry.register("xishui", name="西水饭店", village_id="qingyun.xishui.hecun")
    for fmt in ("csv", "xlsx"):
        response = registry.as_("dongshan", "GET", "/exports/businesses", params={"format": fmt})
        assert response.status_code == 200
        rows = {row.values["name"]: row.values for row in ledger.read(response.content, fmt)}
        assert set(rows) == {"好味餐馆", "东山小学食堂"}  # the township's own only
        assert rows["好味餐馆"]["kind"] == "餐饮单位" and rows["好味餐馆"]["village"] == "上村"
        assert rows["好味餐馆"]["food_permit_number"] == "JY100"
        assert rows["好味餐馆"]["food_permit_expires_on"] == "2029-01-01"
    assert registry.as_("shangcun", "GET", "/exports/businesses").status_code == 403


@pytest.fixture
def cli_env(registry: Registry, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Registry:
    """The CLI reads the same SHIAN_* settings as the running registry."""
    for name, value in {
        "SHIAN_ENV": "test",
        "SHIAN_VAR_DIR": str(settings.var_dir),
        "SHIAN_SECRET_KEY": settings.secret_key or "",
        "SHIAN_REDIS_URL": settings.redis_url,
        "SHIAN_STREAM_PREFIX": settings.stream_prefix,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SHIAN_REGISTRY_DATABASE_URL", raising=False)
    return registry


def test_the_cli_imports_with_a_progress_bar_exports_and_scans(cli_env: Registry, tmp_path: Path):
    registry = cli_env
    runner = CliRunner()
    source = tmp_path / "东山台帐.csv"
    source.write_bytes(ledger_csv())
    rejected = tmp_path / "rejected.csv"

    result = runner.invoke(cli, ["import", str(source), "--place", DONGSHAN, "--report", str(rejected)])
    assert result.exit_code == 1, result.output  # some rows were rejected; the others were imported
    assert "checking rows" in result.output and "registering" in result.output
    assert "10 rows: registered 2, rejected 8" in result.output
    assert len(rejected.read_text(encoding="utf-8-sig").splitlines()) == 1 + len(EXPECTED_REJECTIONS)
    assert registry.as_("dongshan", "GET", "/businesses").json()["total"] == 2
    assert registry.events("business.registered")[0]["actor"].startswith("township:")

    assert runner.invoke(cli, ["import", str(source), "--place", "qingyun.atlantis"]).exit_code == 2
    bad = tmp_path / "x.txt"
    bad.write_text("x")
    assert runner.invoke(cli, ["import", str(bad), "--place", DONGSHAN]).exit_code == 2

    target = tmp_path / "export.xlsx"
    exported = runner.invoke(cli, ["export", str(target), "--place", COUNTY])
    assert exported.exit_code == 0, exported.output
    assert {row.values["name"] for row in ledger.read(target.read_bytes(), "xlsx")} == {
        "好味餐馆",
        "东山小学食堂",
    }

    scan = runner.invoke(cli, ["expiry-scan", "--today", "2028-12-20"])
    assert scan.exit_code == 0, scan.output
    assert "licence.expiring x 1" in scan.output
    assert "nothing new" in runner.invoke(cli, ["expiry-scan", "--today", "2028-12-21"]).output
    assert runner.invoke(cli, ["expiry-scan", "--today", "tomorrow"]).exit_code == 2
    assert len(registry.events("licence.expiring")) == 1


def test_rejections_beyond_the_first_ones_are_in_a_downloadable_report(registry: Registry):
    bad = [f"坏行{number},spaceship,上村" for number in range(450)]
    body = ("名称,类型,所在村\n" + "\n".join(bad) + "\n").encode()
    report = post(registry, body).json()
    assert (report["rows"], report["accepted"], report["rejected_count"], report["rejected_rows"]) == (
        450,
        0,
        450,
        450,
    )
    assert len(report["rejected"]) == service.REJECTIONS_SHOWN == 200
    assert [item["row"] for item in report["rejected"]] == list(range(2, 202))
    assert report["rejections_url"] == f"/imports/{report['import_id']}/rejections.csv"

    download = registry.as_("dongshan", "GET", report["rejections_url"])
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    lines = download.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,reason" and len(lines) == 1 + 450
    assert lines[-1].startswith("451,kind,")
    assert registry.as_("county", "GET", report["rejections_url"]).status_code == 200  # its county
    assert registry.as_("xishui", "GET", report["rejections_url"]).status_code == 404  # another township
    assert registry.as_("inspector", "GET", report["rejections_url"]).status_code == 403
    unknown = "/imports/00000000-0000-4000-8000-000000000000/rejections.csv"
    assert registry.as_("dongshan", "GET", unknown).status_code == 404

    clean = post(registry, ledger_csv(ROWS[:2])).json()
    assert (clean["rejected_count"], clean["import_id"], clean["rejections_url"]) == (0, None, None)


def test_a_long_cell_rejects_its_row_without_echoing_it(registry: Registry):
    long_name = "长" * (ledger.MAX_CELL_CHARS + 1)
    report = post(registry, ledger_csv([f"{long_name},餐饮单位,上村,,,,,,,,,,,", ROWS[1]])).json()
    assert report["imported"] == 1
    [rejection] = report["rejected"]
    assert rejection == {"row": 2, "field": "name", "reason": "longer than 500 characters (501)"}


def test_a_file_beyond_a_ledgers_size_is_refused_whole(registry: Registry, monkeypatch: pytest.MonkeyPatch):
    from services.registry.imports import api

    before = registry.counts(*WRITES_NOTHING)
    monkeypatch.setattr(ledger, "MAX_ROWS", 5)
    too_many = post(registry, ledger_csv(ROWS[:2] * 3))
    assert too_many.status_code == 422
    assert too_many.json()["detail"] == [
        {
            "loc": ["body", "file"],
            "msg": "more than 5 rows: split the ledger into several files",
            "type": "domain",
        }
    ]
    workbook = Workbook()
    for values in [["名称", "类型", "所在村"], *[[f"店{number}", "餐饮单位", "上村"] for number in range(6)]]:
        workbook.active.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    too_many = post(registry, buffer.getvalue(), format="xlsx")  # found as the rows are read
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["msg"] == "more than 5 rows: split the ledger into several files"
    blank_rows_are_free = post(registry, ledger_csv(ROWS[:2] * 2 + ROWS[-1:] * 6), dry_run=True)
    assert blank_rows_are_free.status_code == 200 and blank_rows_are_free.json()["rows"] == 4

    monkeypatch.setattr(api, "MAX_BYTES", 1000)
    declared = post(registry, b"x" * 1001)
    assert declared.status_code == 413 and declared.json()["detail"][0]["loc"][-1] == "file"

    def chunks():  # no Content-Length: the limit is applied while the body streams in
        for _ in range(20):
            yield b"x" * 100

    streamed = registry.as_("dongshan", "POST", "/imports/businesses", content=chunks())
    assert streamed.status_code == 413
    assert registry.counts(*WRITES_NOTHING) == before


FORMULAS = ['=HYPERLINK("http://x","y")', "@SUM(1)", "-1+cmd|' /C calc'!A0", "+1"]


def test_the_export_escapes_text_a_spreadsheet_would_run(registry: Registry):
    for number, name in enumerate(FORMULAS):
        registry.register(
            name=name, operator="=1+2", location={"latitude": -33.5, "longitude": 121.5 + number}
        )

    xlsx = registry.as_("dongshan", "GET", "/exports/businesses", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active  # not read-only: data types as stored
    header = [cell.value for cell in sheet[1]]
    name_at, operator_at, latitude_at = (header.index(label) for label in ("名称", "经营者", "纬度"))
    rows = list(sheet.iter_rows(min_row=2))
    assert sorted(row[name_at].value for row in rows) == sorted("'" + name for name in FORMULAS)
    assert {(row[name_at].data_type, row[operator_at].data_type, row[operator_at].value) for row in rows} == {
        ("s", "s", "'=1+2")
    }
    assert {(row[latitude_at].data_type, row[latitude_at].value) for row in rows} == {("n", -33.5)}

    text = registry.as_("dongshan", "GET", "/exports/businesses").content.decode("utf-8-sig")
    records = list(csv.DictReader(io.StringIO(text)))
    assert sorted(record["名称"] for record in records) == sorted("'" + name for name in FORMULAS)
    assert {(record["经营者"], record["纬度"]) for record in records} == {("'=1+2", "-33.5")}

    for content, fmt in ((xlsx.content, "xlsx"), (text.encode(), "csv")):  # and reads back as it was
        assert sorted(row.values["name"] for row in ledger.read(content, fmt)) == sorted(FORMULAS)
