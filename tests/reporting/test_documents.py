"""The work summary: in the seed's structure, every figure from the data, the free-text sections
kept per period; the DOCX opens with python-docx and the PDF renders to pages of Chinese text."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from services.reporting.documents import charts, fonts, render
from services.reporting.documents.content import Chart, Document, Heading, Number, Paragraph, Table
from services.reporting.documents.linebreak import NO_LINE_END, NO_LINE_START, ChineseParagraph, break_lines
from tests.support.county import COUNTY, DONGSHAN, SHANGCUN, XISHUI
from tests.support.reporting import Known
from tests.support.services import count_rows

HEADINGS = (
    "一、加强领导，明确职责",
    "二、广泛宣传，营造氛围",
    "三、明确目标，加大整治",
    "存在的问题",
    "下一步工作计划",
)

NEEDS_POPPLER = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pdffonts", "pdftoppm", "pdftotext")),
    reason="needs poppler-utils (apt-get install -y poppler-utils)",
)


def summary(known: Known, place: str, fmt: str, who: str = "dongshan"):
    params = {**known.period.query(), "format": fmt}
    return known.county.reporting.get(
        f"/documents/{place}/summary", params=params, headers=known.county.headers(who)
    )


def expected_phrases(known: Known, place: str) -> list[str]:
    """Sentences of the summary whose numbers must be the statistics' figures."""
    figures = {key: figure["value"] for key, figure in known.stats(place)["figures"].items()}

    def n(key: str) -> int:
        return int(figures[key])

    return [
        f"开展监督检查{n('inspections.total')}次",
        f"检查经营单位{n('inspections.businesses')}家",
        f"发现问题{n('problems.found')}项",
        f"下达限期整改{n('problems.ordered')}项",
        f"发放宣传材料{n('publicity.leaflets')}份",
        f"宣传、咨询、服务群众{n('publicity.people_consulted')}人次",
        f"悬挂宣传横幅{n('publicity.banners')}条",
        f"举办食品安全培训{n('trainings.held')}期",
        f"登记在册食品生产经营单位{n('businesses.registered')}家",
        f"受理投诉举报{n('complaints.received')}件",
        f"发生食品安全事故{n('incidents.reported')}起",
        f"备案群体性宴席{n('banquets.filed')}场",
        f"签订食品安全目标责任书{n('letters.signed')}份",
    ]


def test_the_html_summary_follows_the_seed_and_fills_every_figure(known: Known):
    response = summary(known, DONGSHAN, "html")
    assert response.status_code == 200, response.text
    html = response.text
    positions = [html.index(heading) for heading in HEADINGS]
    assert positions == sorted(positions)
    for phrase in expected_phrases(known, DONGSHAN):
        assert phrase in html.replace('<a class="figure" href="', "").replace("</a>", "") or phrase in _text(
            html
        ), phrase
    assert "发放宣传材料" in html and "800份" in html
    assert "2026" in html or str(known.today.year) in html
    for chart in ("inspections_per_month", "incidents_by_level", "coverage_by_village"):
        assert f'data-chart="{chart}"' in html
    assert "/statistics/qingyun.dongshan/records/inspections.total" in html  # figures link to records

    county = summary(known, COUNTY, "html", who="county").text
    county_figures = known.stats(COUNTY)["figures"]
    assert f"发生食品安全事故{int(county_figures['incidents.reported']['value'])}起" in _text(county)
    assert "表1 主要工作数据" in county


def _text(html: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", html)


def test_the_comparison_table_holds_this_and_the_previous_period(known: Known):
    from services.reporting.documents import service, writer
    from services.reporting.statistics.scope import Scope

    runtime = known.county.reporting.app.state.runtime
    scope = Scope(place_id=DONGSHAN, level="township", name="东山镇", county_id=COUNTY, township_id=DONGSHAN)
    with runtime.db.read_session() as session:
        data = service.collect(session, scope, known.period.at(known.today))
    document = writer.write(data)
    [table] = [block for block in document.blocks if getattr(block, "caption", "").startswith("表1")]
    rows = {row[0]: row[1:] for row in table.rows}
    assert rows["监督检查（次）"] == ("3", "0", "增加3")
    assert rows["发放宣传材料（份）"] == ("800", "0", "增加800")
    assert sum(count for _, count, _ in data.monthly_inspections) == 3


def test_free_text_sections_are_kept_per_period_and_used(known: Known):
    client, headers = known.county.reporting, known.county.headers("dongshan")
    url = f"/documents/{DONGSHAN}/sections"
    params = known.period.query()
    before = (
        count_rows(known.county, "reporting", "summary_sections"),
        count_rows(known.county, "reporting", "outbox"),
    )

    bad = client.put(url, params=params, json={"sections": {"gossip": "x"}}, headers=headers)
    assert bad.status_code == 422
    too_long = client.put(url, params=params, json={"sections": {"plan": "长" * 20_001}}, headers=headers)
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"][-1] == "sections.plan"
    assert (
        client.put(
            url, params=params, json={"sections": {"plan": "x"}}, headers=known.county.headers("inspector")
        ).status_code
        == 403
    )
    assert (
        client.put(
            url, params=params, json={"sections": {"plan": "x"}}, headers=known.county.headers("xishui")
        ).status_code
        == 404
    )
    assert client.put(url, params=params, json={"sections": {"plan": "x"}}).status_code == 401
    village = client.put(
        f"/documents/{SHANGCUN}/sections", params=params, json={"sections": {"plan": "x"}}, headers=headers
    )
    assert village.status_code == 422
    assert (
        count_rows(known.county, "reporting", "summary_sections"),
        count_rows(known.county, "reporting", "outbox"),
    ) == before

    own = "1.学校周边小卖部及流动摊贩较多，部分无营业执照。"
    saved = client.put(
        url,
        params=params,
        json={"sections": {"problems": own, "leadership": "成立领导小组。"}},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    assert [item["section"] for item in saved.json()] == ["leadership", "problems"]
    html = summary(known, DONGSHAN, "html").text
    assert own in html and "成立领导小组。" in html
    previous = {**known.period.previous().query(), "format": "html"}
    other = client.get(f"/documents/{DONGSHAN}/summary", params=previous, headers=headers).text
    assert own not in other
    assert client.get(url, params=params, headers=known.county.headers("xishui")).status_code == 404
    assert count_rows(known.county, "reporting", "audit_log") >= 2

    cleared = client.put(url, params=params, json={"sections": {"problems": ""}}, headers=headers)
    assert [item["section"] for item in cleared.json()] == ["leadership"]


def test_the_docx_opens_with_python_docx(known: Known):
    from docx import Document

    response = summary(known, DONGSHAN, "docx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    document = Document(io.BytesIO(response.content))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    for heading in HEADINGS:
        assert heading in text
    for phrase in expected_phrases(known, DONGSHAN):
        assert phrase in text, phrase
    assert len(document.inline_shapes) == 3  # the three charts
    assert len(document.tables) == 2
    assert document.tables[0].cell(0, 0).text == "项目"


@NEEDS_POPPLER
def test_the_pdf_renders_to_pages_of_chinese_text(known: Known, tmp_path: Path):
    response = summary(known, XISHUI, "pdf", who="xishui")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    path = tmp_path / "summary.pdf"
    path.write_bytes(response.content)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True, timeout=60
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2
    from PIL import Image

    with Image.open(pages[0]) as image:
        assert image.convert("L").getextrema()[0] < 128  # something is drawn on the first page
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()
    compact = "".join(text.split())
    assert "西水乡" in compact and "食品安全工作总结" in compact
    for heading in HEADINGS:
        assert heading in compact
    for phrase in expected_phrases(known, XISHUI):
        assert phrase in compact, phrase
    assert all(_embedded_subset(font) for font in _pdf_fonts(path)), _pdf_fonts(path)
    lines = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()
    assert not [line for line in lines.splitlines() if line.strip()[:1] in NO_LINE_START]


# The PDF's font and Chinese line breaking, on documents made here (no services needed).

WQY_MICROHEI_SHA256 = "2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3"
NO_FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><cachedir>{cache}</cachedir></fontconfig>
"""


def sample_document() -> Document:
    """One block of every kind, so every PDF style (and the table and chart) is used, with Latin
    letters, digits and punctuation beside the Chinese."""
    return Document(
        title="东山镇2026年上半年食品安全工作总结",
        subtitle="统计期间：2026-01-01 至 2026-06-30；对比期间：2025年下半年",
        blocks=[
            Heading("一、加强领导，明确职责"),
            Paragraph(
                (
                    "本期开展监督检查",
                    Number(12, "次"),
                    "，发现问题3项（其中HACCP体系2项）。",
                )
            ),
            Heading("（一）宣传培训", level=2),
            Table(
                caption="表1 主要工作数据",
                headers=("项目", "本期", "增减"),
                rows=(("监督检查（次）", "12", "增加3"),),
            ),
            Chart(
                key="inspections_per_month",
                caption="图1 各月监督检查次数",
                labels=("1月", "2月"),
                values=(3, 9),
            ),
        ],
    )


def _pdf_fonts(path: Path) -> list[list[str]]:
    """pdffonts' rows as [name, ..., emb, sub, uni, object, generation]."""
    output = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, timeout=60).stdout
    return [line.split() for line in output.decode().splitlines()[2:]]


def _embedded_subset(row: list[str]) -> bool:
    import re

    name, (emb, sub) = row[0], row[-5:-3]
    return bool(re.fullmatch(r"[A-Z]{6}\+WenQuanYiMicroHei-\d+", name)) and emb == sub == "yes"


def test_the_font_is_the_packaged_wenquanyi_micro_hei():
    """The PDF and the charts use the file installed with the project, the one Debian ships as
    fonts-wqy-microhei, whatever fonts the host has."""
    import hashlib
    from importlib.resources import files

    path = fonts.path()
    assert path.is_relative_to(Path(str(files(fonts.PACKAGE))))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == WQY_MICROHEI_SHA256


@NEEDS_POPPLER
def test_every_font_of_the_pdf_is_embedded_as_a_subset(tmp_path: Path):
    path = tmp_path / "sample.pdf"
    path.write_bytes(render.pdf(sample_document()))
    rows = _pdf_fonts(path)
    assert rows, "the PDF uses no font"
    assert [row for row in rows if not _embedded_subset(row)] == []  # none unembedded: no Helvetica


@NEEDS_POPPLER
def test_the_pdf_draws_its_chinese_on_a_machine_without_fonts(tmp_path: Path):
    """A fontconfig that knows no font stands for a viewer without Chinese fonts: a font the PDF
    only names (STSong-Light) then draws nothing, an embedded one still draws."""
    from PIL import Image

    path = tmp_path / "sample.pdf"
    path.write_bytes(render.pdf(sample_document()))
    conf = tmp_path / "fonts.conf"
    conf.write_text(NO_FONTS_CONF.format(cache=tmp_path / "fontconfig-cache"))
    env = {**os.environ, "FONTCONFIG_FILE": str(conf), "XDG_DATA_DIRS": str(tmp_path)}
    result = subprocess.run(
        ["pdftoppm", "-r", "72", "-f", "1", "-l", "1", "-png", str(path), str(tmp_path / "page")],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0 and b"find a font" not in result.stderr, result.stderr
    [page] = tmp_path.glob("page*.png")
    with Image.open(page) as image:
        title = image.convert("L").crop((0, 50, image.width, 90))  # 18 pt title below a 2 cm margin
        dark = sum(1 for value in title.tobytes() if value < 128)
    assert dark > 400, dark  # 18 characters of 18 pt; nothing drawn is 0


def test_chinese_lines_never_start_with_closing_or_end_with_opening_punctuation():
    """避头尾: reportlab's own CJK wrapping puts "，" at the start of the second line here; the
    summary's paragraphs move the character before it down with it instead."""
    from reportlab.platypus import Paragraph as ReportlabParagraph

    style = render._pdf_styles()["cell"]  # no first-line indent: 10 characters of 8.5 pt a line
    text = (
        "食品安全监督检查工作，" + "乡镇村组全面开展排查。" + "按期整改到位（逾期处理" + "）四五六七八九十。"
    )
    width = 10 * style.fontSize

    def lines(paragraph) -> list[str]:  # type: ignore[no-untyped-def]
        paragraph.wrap(width, 1000)
        return ["".join(words) for _, words in paragraph.blPara.lines]

    assert lines(ReportlabParagraph(text, style))[1].startswith("，")  # what the test guards against
    broken = lines(ChineseParagraph(text, style))
    # "作" goes down with "，"; "（" goes down with "逾", the character it opens on
    assert broken == [
        "食品安全监督检查工",
        "作，乡镇村组全面开展",
        "排查。按期整改到位",
        "（逾期处理）四五六七",
        "八九十。",
    ]
    assert "".join(broken) == text


@NEEDS_POPPLER
def test_no_line_of_the_pdf_starts_with_closing_or_ends_with_opening_punctuation(tmp_path: Path):
    """Through render.pdf, over a paragraph long enough to go on to a second page (reportlab breaks
    the part it moves there again, by its own rules unless told otherwise)."""
    body = "".join(f"第{n}项，检查（复查）了“食品”——共{n * 37}家；" for n in range(120))
    path = tmp_path / "long.pdf"
    path.write_bytes(render.pdf(Document(title="长段落", subtitle="分页", blocks=[Paragraph((body,))])))
    text = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert text.count("\f") >= 2 and len(lines) > 60
    assert [line for line in lines if line[0] in NO_LINE_START or line[-1] in NO_LINE_END] == []
    assert body in "".join(lines)


def test_line_breaking_keeps_dashes_numbers_and_brackets_together():
    def lines(text: str, width: int) -> list[str]:
        return [line for _, line in break_lines(text, lambda char: 1.0, [width])]

    assert lines("一二三，四五六", 3) == ["一二", "三，四", "五六"]
    assert lines("他说——好", 3) == ["他说", "——好"]
    assert lines("共2026家", 4) == ["共", "2026", "家"]
    assert lines("见《通知》", 2) == ["见", "《通", "知》"]
    assert lines("abcdefgh", 3) == ["abc", "def", "gh"]  # no place to break: cut where full
    assert lines("甲乙 丙丁", 2) == ["甲乙", "丙丁"]  # a space at a line's edge is dropped
    assert [space for space, _ in break_lines("一二三，四", lambda char: 1.0, [3, 5])] == [1.0, 2.0]


def test_chart_labels_are_drawn_in_the_packaged_font():
    import warnings

    from matplotlib import font_manager

    family = fonts.chart_family()
    found = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    assert Path(found) == fonts.path()
    chart = Chart(
        key="incidents_by_level", caption="图2", labels=("Ⅰ级（特别重大）", "Ⅳ级以下"), values=(0, 4)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        assert charts.png(chart).startswith(b"\x89PNG")
