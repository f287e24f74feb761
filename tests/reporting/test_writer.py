"""The summary writer's pieces, without a county: a sentence of text and figures, a section with and
without its authors' own paragraph, and the words for a change between two periods."""

from __future__ import annotations

from services.reporting.documents import writer
from services.reporting.documents.content import Document, Heading, Number, Paragraph
from services.reporting.documents.service import SummaryData
from services.reporting.documents.writer import Fig
from services.reporting.statistics.models import (
    Coverage,
    Figure,
    GroupFigure,
    PeriodRead,
    PlaceRead,
    Statistics,
)
from services.reporting.statistics.periods import parse_period
from services.reporting.statistics.scope import Scope

PERIOD = parse_period("2026-H1")
SCOPE = Scope(place_id="qingyun.dongshan", level="township", name="东山镇", county_id="qingyun")


def figure(key: str, value: float, unit: str = "家", groups: dict[str, float] | None = None) -> Figure:
    return Figure(
        key=key,
        label=key,
        section="test",
        value=value,
        unit=unit,
        link=f"/records/{key}",
        groups=[
            GroupFigure(group=name, label=f"{name}类", value=count, link=f"/records/{key}?group={name}")
            for name, count in (groups or {}).items()
        ],
    )


def summary(sections: dict[str, str] | None = None, ratio: float | None = 0.5) -> SummaryData:
    figures = {
        "businesses.registered": figure("businesses.registered", 44, groups={"a": 32, "b": 0, "c": 12}),
        "businesses.new": figure("businesses.new", 3),
    }
    statistics = Statistics(
        place=PlaceRead(id=SCOPE.place_id, level=SCOPE.level, name=SCOPE.name),
        period=PeriodRead(code=PERIOD.code, label=PERIOD.label, first=PERIOD.first, last=PERIOD.last),
        figures=figures,
        campaigns=[],
        coverage=Coverage(ratio=ratio, target=1.0, window_months=12, by_village=[]),
    )
    return SummaryData(
        scope=SCOPE,
        period=PERIOD,
        current=statistics,
        previous=statistics,
        monthly_inspections=[],
        sections=sections or {},
    )


def test_a_sentence_fills_in_the_place_words_and_writes_each_figure_as_a_linked_number():
    paragraph = writer._paragraph(
        summary(),
        (
            "{where}登记",
            Fig("businesses.registered", breakdown=True),
            "，新登记",
            Fig("businesses.new"),
            "{coverage}",
        ),
    )
    assert paragraph.spans == (
        "全镇（乡）登记",
        Number(44, "家", "/records/businesses.registered"),
        "（其中",
        "",
        "a类",
        Number(32, "家", "/records/businesses.registered?group=a"),
        "、",
        "c类",
        Number(12, "家", "/records/businesses.registered?group=c"),
        "）",
        "，新登记",
        Number(3, "家", "/records/businesses.new"),
        "50.0%",
    )
    assert paragraph.text == "全镇（乡）登记44家（其中a类32家、c类12家），新登记3家50.0%"


def test_a_group_of_a_figure_without_it_is_zero_linked_to_the_whole_figure():
    paragraph = writer._paragraph(summary(), (Fig("businesses.registered", "none"),))
    assert paragraph.spans == (Number(0, "家", "/records/businesses.registered"),)


def test_the_authors_paragraph_comes_first_and_replaces_the_generated_one_only_where_told():
    generated = [Paragraph(("generated",))]
    for instead, expected in ((False, ["own", "generated"]), (True, ["own"])):
        document = Document(title="t", subtitle="s")
        writer._section(document, summary({"plan": "own"}), "plan", generated, instead=instead)
        assert document.blocks[0] == Heading("下一步工作计划")
        assert [block.text for block in document.blocks[1:]] == expected
        assert document.blocks[1] == Paragraph(("own",), editable="plan")

    document = Document(title="t", subtitle="s")
    writer._section(document, summary({}), "plan", generated, instead=True)
    assert document.blocks == [Heading("下一步工作计划"), *generated]


def test_a_change_between_periods_is_said_in_words_with_its_percentage():
    assert writer._change(3, 3) == "持平"
    assert writer._change(3, 0) == "增加3"
    assert writer._change(5, 4) == "增加1（+25.0%）"
    assert writer._change(2.5, 5) == "减少2.5（-50.0%）"
    assert writer._percent(None) == "—"
