"""The township pages' own logic, without a browser: the import page's polling fragment stops once
the registry has answered, the registry's reasons read in Chinese, the summary preview keeps no
script or inline style, and the register's filters take only values the registry knows."""

from __future__ import annotations

from datetime import date

from starlette.datastructures import QueryParams

from services.web.templating import environment
from services.web.township import imports, service, summary


def fragment(job: dict) -> str:
    return (
        environment()
        .get_template("township/_import_status.html")
        .render(job=job, job_id="a" * 32, imports=imports)
    )


def test_the_import_fragment_polls_while_the_job_is_under_way_and_stops_after() -> None:
    uploading = fragment({"state": "uploading", "sent": 512, "size": 2048, "dry_run": False})
    assert (
        'hx-get="/township/imports/' + "a" * 32 + '/status"' in uploading
        and 'hx-trigger="every 1s"' in uploading
    )
    assert "正在上传：25%" in uploading
    checking = fragment({"state": "checking", "sent": 2048, "size": 2048, "dry_run": False})
    assert "hx-trigger" in checking and "正在逐行检查" in checking
    report = {
        "rows": 3,
        "accepted": 2,
        "imported": 2,
        "rejected": [{"row": 3, "field": "village", "reason": "unknown village '河村' in your area"}],
        "rejected_count": 1,
        "rejected_rows": 1,
        "import_id": "x",
    }
    done = fragment({"state": "done", "sent": 2048, "size": 2048, "dry_run": False, "report": report})
    assert "hx-trigger" not in done and "3 行中导入 2 家，1 行未通过" in done
    assert "本乡镇没有这个村：河村" in done and "所在村" in done
    for state in ("refused", "failed", "lost"):
        assert "hx-trigger" not in fragment(
            {"state": state, "sent": 0, "size": 1, "dry_run": False, "reasons": ["x"]}
        )


def test_the_registry_reasons_read_in_chinese() -> None:
    assert imports.reason("required") == "必须填写"
    assert imports.reason("91A is used in row 2 too") == "与第 2 行的证号重复"
    assert imports.reason("missing columns: name, kind") == "缺少这些列：name, kind"
    assert imports.reason("something new").startswith("未能导入")
    assert imports.format_of("台账.XLSX") == "xlsx" and imports.format_of("a.csv.exe") is None


def test_the_preview_keeps_the_document_and_drops_scripts_styles_and_handlers() -> None:
    html = (
        '<html><head><style>p{}</style></head><body><h1>东山镇总结</h1><p class="own">写的<b>字</b></p>'
        '<script>alert(1)</script><div class="bar" style="width: 5%" onclick="x()"></div>'
        '<a class="figure" href="/records/k">12</a></body></html>'
    )
    cleaned = str(summary.preview(html))
    assert "写的<b>字</b>" in cleaned and '<h2 class="doc-title">东山镇总结</h2>' in cleaned
    assert (
        "script" not in cleaned
        and "style=" not in cleaned
        and "onclick" not in cleaned
        and "href" not in cleaned
    )
    assert '<span class="figure">12</span>' in cleaned


def test_the_summary_periods_are_this_half_year_and_the_ones_before() -> None:
    assert list(summary.periods(date(2026, 11, 30))) == ["2026-H2", "2026-H1", "2025-H2", "2025-H1"]
    assert summary.period_of("1999-H1", date(2026, 3, 1)) == "2026-H1"


def test_the_register_filters_take_only_known_values() -> None:
    villages = {"qingyun.dongshan.shangcun": "上村"}
    query = service.register_query(
        QueryParams(
            "q=%20面馆%20&kind=<x>&status=active&village_id=qingyun.xishui.hecun&risk_level=D&licence_state=expiring"
        ),
        villages,
    )
    assert query == {
        "q": "面馆",
        "village_id": "",
        "kind": "",
        "status": "active",
        "risk_level": "D",
        "licence_state": "expiring",
    }
    assert (
        service.page_number("-3") == 1
        and service.page_number("x") == 1
        and service.page_number("99999999") == 10_000
    )
