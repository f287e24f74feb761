"""Writing the work summary from its figures, one function per section of the summaries township
offices write by hand: the opening paragraph, 一、加强领导 二、广泛宣传 三、明确目标，加大整治, the
comparison of the two periods, 存在的问题 and 下一步工作计划.

The prose that states figures is kept as data: a sentence is a tuple of text and `Fig`ures, the
text filled in with the place and period words (`{where}`, `{period}`, ...) and each figure written
as a linked number. A section its authors wrote themselves gets their paragraph first (and for the
problems and the plan, instead of the generated one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.reporting.documents.content import (
    Block,
    Chart,
    Document,
    Heading,
    Number,
    Paragraph,
    Span,
    Table,
)
from services.reporting.documents.models import SECTION_TITLES
from services.reporting.documents.service import SummaryData
from services.reporting.statistics.models import Figure

PLACE_WORDS = {"county": "全县", "township": "全镇（乡）", "village": "全村"}


@dataclass(frozen=True)
class Fig:
    """A figure inside a sentence: the figure `key`, or one `group` of it; `breakdown` follows it
    with its non-zero groups, "（其中餐饮单位32家、小作坊12家）"."""

    key: str
    group: str | None = None
    breakdown: bool = False


Sentence = tuple[str | Fig, ...]

OPENING: Sentence = (
    "{period}，{place}按照食品安全工作部署，",
    "开展监督检查",
    Fig("inspections.total"),
    "，覆盖经营单位",
    Fig("inspections.businesses"),
    "，发现问题",
    Fig("problems.found"),
    "，按期整改到位",
    Fig("problems.rectified_on_time"),
    "；受理投诉举报",
    Fig("complaints.received"),
    "，发生食品安全事故",
    Fig("incidents.reported"),
    "。现将工作情况总结如下。",
)

# 一、加强领导，明确职责
LEADERSHIP: Sentence = (
    "本期签订食品安全目标责任书",
    Fig("letters.signed", breakdown=True),
    "，层层落实监管责任；完成村级年度目标考核",
    Fig("assessments.scored"),
    "，平均得分",
    Fig("assessments.average_score"),
    "。",
)

# 二、广泛宣传，营造氛围
PUBLICITY: Sentence = (
    "{where}共举办食品安全宣传活动",
    Fig("publicity.events"),
    "，悬挂宣传横幅",
    Fig("publicity.banners"),
    "，制作宣传展板",
    Fig("publicity.boards"),
    "，发放宣传材料",
    Fig("publicity.leaflets"),
    "，宣传、咨询、服务群众",
    Fig("publicity.people_consulted"),
    "。举办食品安全培训",
    Fig("trainings.held"),
    "，培训协管员、信息员和从业人员",
    Fig("trainings.attendees"),
    "。",
)

# 三、明确目标，加大整治: the numbered paragraphs before and after the campaigns (5、)
ENFORCEMENT_BEFORE_CAMPAIGNS: tuple[Sentence, ...] = (
    (
        "1、认真开展摸底排查，登记造册。",
        "{where}登记在册食品生产经营单位",
        Fig("businesses.registered", breakdown=True),
        "，本期新登记",
        Fig("businesses.new"),
        "。",
    ),
    (
        "2、加强日常监督检查。本期开展监督检查",
        Fig("inspections.total", breakdown=True),
        "，检查经营单位",
        Fig("inspections.businesses"),
        "；检查结果符合",
        Fig("inspections.by_outcome", "compliant"),
        "、基本符合",
        Fig("inspections.by_outcome", "basically_compliant"),
        "、不符合",
        Fig("inspections.by_outcome", "non_compliant"),
        "。量化分级管理实施率",
        "{coverage}",
        "（目标{target}，已实施",
        Fig("coverage.graded"),
        "，应实施",
        Fig("coverage.registered"),
        "）。",
    ),
    (
        "3、落实问题整改。检查发现问题",
        Fig("problems.found"),
        "，下达限期整改",
        Fig("problems.ordered"),
        "，按期整改到位",
        Fig("problems.rectified_on_time"),
        "，逾期后整改到位",
        Fig("problems.rectified_late"),
        "，整改逾期",
        Fig("problems.overdue"),
        "，期末尚未完成整改",
        Fig("problems.open"),
        "；涉嫌违法犯罪移送公安机关",
        Fig("problems.referred"),
        "。",
    ),
    (
        "4、规范证照管理。期末有效证照",
        Fig("licences.valid"),
        "，即将到期",
        Fig("licences.expiring"),
        "，已过期",
        Fig("licences.expired"),
        "，未办理食品经营许可证",
        Fig("licences.missing_permit"),
        "；从业人员有效健康证",
        Fig("certificates.valid"),
        "，即将到期",
        Fig("certificates.expiring"),
        "，已过期",
        Fig("certificates.expired"),
        "。",
    ),
)
ENFORCEMENT_AFTER_CAMPAIGNS: tuple[Sentence, ...] = (
    (
        "6、及时处理投诉举报。受理投诉举报",
        Fig("complaints.received"),
        "，按时受理",
        Fig("complaints.accepted_on_time"),
        "，办结",
        Fig("complaints.closed"),
        "，其中按时办结",
        Fig("complaints.closed_in_time"),
        "，超时未处理",
        Fig("complaints.deadline_missed"),
        "。",
    ),
    (
        "7、妥善处置食品安全事故。本期发生食品安全事故",
        Fig("incidents.reported", breakdown=True),
        "，发病",
        Fig("incidents.ill"),
        "，死亡",
        Fig("incidents.deaths"),
        "；已确认响应",
        Fig("incidents.acknowledged"),
        "，平均确认用时",
        Fig("incidents.minutes_to_acknowledge"),
        "，已处置结案",
        Fig("incidents.closed"),
        "，平均处置用时",
        Fig("incidents.hours_to_close"),
        "。",
    ),
    (
        "8、加强农村群体性宴席管理。备案群体性宴席",
        Fig("banquets.filed"),
        "，就餐",
        Fig("banquets.people"),
        "，其中迟报",
        Fig("banquets.late"),
        "，需现场指导",
        Fig("banquets.guidance_due"),
        "。",
    ),
)

COMPARED = (
    "businesses.registered",
    "inspections.total",
    "inspections.businesses",
    "problems.found",
    "problems.rectified_on_time",
    "problems.overdue",
    "problems.referred",
    "complaints.received",
    "complaints.closed_in_time",
    "incidents.reported",
    "banquets.filed",
    "publicity.events",
    "publicity.leaflets",
    "publicity.people_consulted",
    "trainings.held",
    "letters.signed",
)
"""The figures of table 1, this period beside the one before."""


def write(data: SummaryData) -> Document:
    scope, period = data.scope, data.period
    document = Document(
        title=f"{scope.name}{period.label}食品安全工作总结",
        subtitle=f"统计期间：{period.first.isoformat()} 至 {period.last.isoformat()}；"
        f"对比期间：{data.previous.period.label}",
    )
    document.add(_paragraph(data, OPENING))
    _section(document, data, "leadership", [_paragraph(data, LEADERSHIP)])
    _section(document, data, "publicity", [_paragraph(data, PUBLICITY)])
    _section(document, data, "enforcement", _enforcement(data))
    _add(document, _comparison(data))
    _section(document, data, "problems", _problems(data), instead=True)
    _section(document, data, "plan", _plan(data), instead=True)
    return document


def _add(document: Document, blocks: Iterable[Block]) -> None:
    for block in blocks:
        document.add(block)


def _section(
    document: Document, data: SummaryData, name: str, generated: list[Paragraph], *, instead: bool = False
) -> None:
    """The section's heading, then the authors' own paragraph if they wrote one, then the
    paragraphs generated from the figures (not at all, `instead`, when the authors wrote theirs)."""
    document.add(Heading(SECTION_TITLES[name]))
    own = data.sections.get(name)
    if own:
        document.add(Paragraph((own,), editable=name))
    if not (own and instead):
        _add(document, generated)


def _paragraph(data: SummaryData, sentence: Sentence) -> Paragraph:
    """A sentence of text and figures, with the place's and the period's words filled in."""
    figures, coverage = data.current.figures, data.current.coverage
    words = {
        "period": data.period.label,
        "place": data.scope.name,
        "where": PLACE_WORDS[data.scope.level],
        "coverage": _percent(coverage.ratio),
        "target": _percent(coverage.target),
    }
    spans: list[Span] = []
    for part in sentence:
        if isinstance(part, str):
            spans.append(part.format(**words))
            continue
        figure = figures[part.key]
        spans.append(_n(figure, part.group))
        if part.breakdown:
            spans += _breakdown(figure)
    return Paragraph(tuple(spans))


def _enforcement(data: SummaryData) -> list[Paragraph]:
    return [
        *(_paragraph(data, sentence) for sentence in ENFORCEMENT_BEFORE_CAMPAIGNS),
        _campaigns(data),
        *(_paragraph(data, sentence) for sentence in ENFORCEMENT_AFTER_CAMPAIGNS),
    ]


def _campaigns(data: SummaryData) -> Paragraph:
    """5、: the special and holiday inspections, then each campaign's progress against its target."""
    spans: list[Span] = [
        "5、开展专项整治。本期开展专项及节日检查",
        _n(data.current.figures["campaigns.inspections"]),
    ]
    for campaign in data.current.campaigns:
        spans += [f"；“{campaign.name}”完成检查", Number(campaign.done, "次", campaign.link)]
        if campaign.target:
            spans += [f"，目标{campaign.target}次，完成率{_percent(campaign.ratio)}"]
    return Paragraph((*spans, "。"))


def _comparison(data: SummaryData) -> list[Block]:
    """主要数据对比: table 1 (this period beside the one before), the charts, and the grading
    coverage."""
    period, now, before = data.period, data.current.figures, data.previous.figures
    levels = now["incidents.reported"].groups
    blocks: list[Block] = [
        Heading("主要数据对比", level=2),
        Table(
            caption=f"表1 主要工作数据（{period.label}与{data.previous.period.label}对比）",
            headers=("项目", period.label, data.previous.period.label, "增减"),
            rows=tuple(
                (
                    f"{now[key].label}（{now[key].unit}）",
                    Number(now[key].value).text,
                    Number(before[key].value).text,
                    _change(now[key].value, before[key].value),
                )
                for key in COMPARED
            ),
        ),
        Chart(
            key="inspections_per_month",
            caption="图1 各月监督检查次数",
            labels=tuple(label for label, _, _ in data.monthly_inspections),
            values=tuple(count for _, count, _ in data.monthly_inspections),
            unit="次",
        ),
        Chart(
            key="incidents_by_level",
            caption="图2 食品安全事故分级情况",
            labels=tuple(item.label for item in levels),
            values=tuple(item.value for item in levels),
            unit="起",
        ),
    ]
    return [*blocks, *_coverage(data)]


def _coverage(data: SummaryData) -> list[Block]:
    """The grading coverage of each township (for the county) or village (for a township)."""
    coverage = data.current.coverage
    if data.scope.level == "county":
        places = [(t.name, t.registered, t.graded, t.ratio) for t in coverage.by_township]
        place_word, each = "乡镇", "各乡镇"
    else:
        places = [(v.name, v.registered, v.graded, v.ratio) for v in coverage.by_village]
        place_word, each = "村", "各村"
    return [
        Chart(
            key="coverage_by_village",
            caption=f"图3 {each}量化分级实施率",
            labels=tuple(name for name, *_ in places),
            values=tuple(round((ratio or 0) * 100, 1) for *_, ratio in places),
            unit="%",
            kind="percent",
        ),
        Table(
            caption=f"表2 {each}量化分级实施情况",
            headers=(place_word, "应实施（家）", "已实施（家）", "实施率"),
            rows=tuple(
                (name, str(total), str(graded), _percent(ratio)) for name, total, graded, ratio in places
            ),
        ),
    ]


def _problems(data: SummaryData) -> list[Paragraph]:
    """存在的问题: the weak points the figures show, numbered."""
    return [Paragraph((f"{index}. ", *spans)) for index, spans in enumerate(_weak_points(data), start=1)]


def _weak_points(data: SummaryData) -> list[tuple[Span, ...]]:
    now = data.current.figures
    found: list[tuple[Span, ...]] = []
    coverage = data.current.coverage
    if coverage.ratio is not None and coverage.ratio < coverage.target:
        found.append(
            (
                f"量化分级管理实施率为{_percent(coverage.ratio)}，未达到{_percent(coverage.target)}的目标，"
                "尚有",
                Number(
                    now["coverage.registered"].value - now["coverage.graded"].value,
                    "家",
                    now["coverage.registered"].link,
                ),
                "经营单位未实施动态评级。",
            )
        )
    if now["problems.overdue"].value or now["problems.open_past_deadline"].value:
        found.append(
            (
                "部分经营单位整改不及时，本期整改逾期",
                _n(now["problems.overdue"]),
                "，期末仍有",
                _n(now["problems.open_past_deadline"]),
                "超过期限未整改到位。",
            )
        )
    if now["licences.missing_permit"].value or now["licences.expired"].value:
        found.append(
            (
                "部分经营单位证照不全，未办理食品经营许可证",
                _n(now["licences.missing_permit"]),
                "，证照已过期",
                _n(now["licences.expired"]),
                "。",
            )
        )
    if now["certificates.expired"].value:
        found.append(("部分从业人员健康证已过期", _n(now["certificates.expired"]), "，存在安全隐患。"))
    if now["banquets.late"].value:
        found.append(("群体性宴席迟报备案", _n(now["banquets.late"]), "，宴席备案制度落实不到位。"))
    if now["complaints.deadline_missed"].value:
        found.append(("投诉举报超时未处理", _n(now["complaints.deadline_missed"]), "。"))
    if not found:
        found.append(("本期各项数据未见突出问题，需继续保持监管力度。",))
    return found


def _plan(data: SummaryData) -> list[Paragraph]:
    """下一步工作计划: the standing tasks, and those the figures call for, numbered."""
    now = data.current.figures
    plan = ["加大检查力度，规范食品安全相关制度，督促从业人员办理健康证后方可上岗。"]
    if now["problems.open"].value:
        plan.append("加大整改力度，对不合格的食品生产经营单位限期整改，确保整改到位。")
    coverage = data.current.coverage
    if coverage.ratio is None or coverage.ratio < coverage.target:
        plan.append("全面推行量化分级管理，确保实施率达到100%。")
    plan.append("强化宣传培训，加强协管员、信息员业务知识培训，提高群众食品安全意识。")
    plan.append("以中秋、国庆、元旦、春节等节日为重点，开展节日食品专项整治。")
    return [Paragraph((f"{index}. {text}",)) for index, text in enumerate(plan, start=1)]


# ---- figures in words ----------------------------------------------------------------------------


def _n(figure: Figure, group: str | None = None) -> Number:
    if group is None:
        return Number(figure.value, figure.unit, figure.link)
    item = next((g for g in figure.groups if g.group == group), None)
    return Number(item.value if item else 0, figure.unit, item.link if item else figure.link)


def _breakdown(figure: Figure) -> list[Span]:
    """ "其中餐饮单位32家、小作坊12家" from the non-zero groups of a figure."""
    spans: list[Span] = []
    for item in figure.groups:
        if item.value:
            spans += ["、" if spans else "", item.label, Number(item.value, figure.unit, item.link)]
    return ["（其中", *spans, "）"] if spans else []


def _percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


def _change(current: float, previous: float) -> str:
    if current == previous:
        return "持平"
    difference = current - previous
    amount = int(abs(difference)) if float(difference).is_integer() else round(abs(difference), 1)
    sign = "增加" if difference > 0 else "减少"
    if previous:
        return f"{sign}{amount}（{difference / previous * 100:+.1f}%）"
    return f"{sign}{amount}"
