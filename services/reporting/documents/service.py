"""The half-year (or any period's) work summary of a township or the county, written from the
figures in the structure of the summaries township offices write by hand: 一、加强领导 二、广泛宣传
三、明确目标，加大整治 存在的问题 下一步工作计划. People's own words go in the editable sections."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from services.reporting.documents.content import Chart, Document, Heading, Number, Paragraph, Span, Table
from services.reporting.documents.models import SECTION_TITLES, SectionsUpdate, SummarySection
from services.reporting.statistics import service
from services.reporting.statistics.models import Figure, Statistics
from services.reporting.statistics.periods import Period, date_range
from services.reporting.statistics.scope import Scope
from shared import changes
from shared.auth import Principal, Role
from shared.catalogue.reporting import SummarySectionEdited
from shared.db import utcnow
from shared.errors import Invalid
from shared.rules import dated_by

EDITORS = (Role.county, Role.township)
MAX_SECTION = 20_000
PLACE_WORDS = {"county": "全县", "township": "全镇（乡）", "village": "全村"}


@dataclass(frozen=True)
class SummaryData:
    scope: Scope
    period: Period
    current: Statistics
    previous: Statistics
    monthly_inspections: list[tuple[str, float, str]]  # (month label, count, link)
    sections: dict[str, str]


def collect(session: Session, scope: Scope, period: Period) -> SummaryData:
    """The summary's figures; a period (or the one before it, for comparison) that the rule tables
    do not reach is answered 422 naming the period's parameter."""
    with dated_by(period.field):
        return _collect(session, scope, period)


def _collect(session: Session, scope: Scope, period: Period) -> SummaryData:
    monthly = []
    for first, last in period.months():
        month = date_range(first, last)
        count = service.value(session, "inspections.total", scope, month)
        monthly.append((f"{first.month}月", count, service.link(scope, month, "inspections.total")))
    return SummaryData(
        scope=scope,
        period=period,
        current=service.statistics(session, scope, period),
        previous=service.statistics(session, scope, period.previous()),
        monthly_inspections=monthly,
        sections=sections(session, scope.place_id, period.code),
    )


def sections(session: Session, place_id: str, period: str) -> dict[str, str]:
    table = SummarySection.__table__
    rows = session.execute(
        sa.select(table.c.section, table.c.text).where(table.c.place_id == place_id, table.c.period == period)
    )
    return {section: text for section, text in rows}


def section_rows(session: Session, place_id: str, period: str) -> list[SummarySection]:
    table = SummarySection.__table__
    query = sa.select(SummarySection).where(table.c.place_id == place_id, table.c.period == period)
    return list(session.execute(query).scalars())


def _new_section(scope: Scope, period: Period, name: str, text: str, actor: str) -> SummarySection:
    return SummarySection(
        place_id=scope.place_id,
        period=period.code,
        section=name,
        county_id=scope.county_id,
        township_id=scope.township_id,
        text=text,
        updated_by=actor,
    )


def save_sections(
    *, session: Session, principal: Principal, scope: Scope, period: Period, data: SectionsUpdate
) -> list[SummarySection]:
    """Write the free-text sections of a place's summary for a period (an empty text removes one)."""
    principal.ensure_role(*EDITORS)
    for name, text in data.sections.items():
        if len(text.strip()) > MAX_SECTION:
            raise Invalid(f"sections.{name}", f"at most {MAX_SECTION} characters")
    for name, text in data.sections.items():
        text = text.strip()
        existing = session.get(SummarySection, (scope.place_id, period.code, name))
        section = existing or _new_section(scope, period, name, text, principal.actor)
        if not text:
            if existing is not None:
                session.delete(existing)
        elif existing is None:
            session.add(section)
        else:
            existing.text, existing.updated_by = text, principal.actor
            existing.updated_at = utcnow()
            session.add(existing)
        changes.record(
            session,
            section,
            actor=principal.actor,
            action="summary.section_edit",
            detail={"characters": len(text)},
            event=SummarySectionEdited(
                place_id=scope.place_id, period=period.code, section=name, characters=len(text)
            ),
        )
    session.commit()
    return section_rows(session, scope.place_id, period.code)


# ---- writing the document ------------------------------------------------------------------------


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


def write(data: SummaryData) -> Document:
    scope, period, now, before = data.scope, data.period, data.current.figures, data.previous.figures
    where = PLACE_WORDS[scope.level]
    document = Document(
        title=f"{scope.name}{period.label}食品安全工作总结",
        subtitle=f"统计期间：{period.first.isoformat()} 至 {period.last.isoformat()}；"
        f"对比期间：{data.previous.period.label}",
    )
    own = data.sections

    document.add(
        Paragraph(
            (
                f"{period.label}，{scope.name}按照食品安全工作部署，",
                "开展监督检查",
                _n(now["inspections.total"]),
                "，覆盖经营单位",
                _n(now["inspections.businesses"]),
                "，发现问题",
                _n(now["problems.found"]),
                "，按期整改到位",
                _n(now["problems.rectified_on_time"]),
                "；受理投诉举报",
                _n(now["complaints.received"]),
                "，发生食品安全事故",
                _n(now["incidents.reported"]),
                "。现将工作情况总结如下。",
            )
        )
    )

    # 一、加强领导，明确职责
    document.add(Heading(SECTION_TITLES["leadership"]))
    if own.get("leadership"):
        document.add(Paragraph((own["leadership"],), editable="leadership"))
    document.add(
        Paragraph(
            (
                "本期签订食品安全目标责任书",
                _n(now["letters.signed"]),
                *_breakdown(now["letters.signed"]),
                "，层层落实监管责任；完成村级年度目标考核",
                _n(now["assessments.scored"]),
                "，平均得分",
                _n(now["assessments.average_score"]),
                "。",
            )
        )
    )

    # 二、广泛宣传，营造氛围
    document.add(Heading(SECTION_TITLES["publicity"]))
    if own.get("publicity"):
        document.add(Paragraph((own["publicity"],), editable="publicity"))
    document.add(
        Paragraph(
            (
                f"{where}共举办食品安全宣传活动",
                _n(now["publicity.events"]),
                "，悬挂宣传横幅",
                _n(now["publicity.banners"]),
                "，制作宣传展板",
                _n(now["publicity.boards"]),
                "，发放宣传材料",
                _n(now["publicity.leaflets"]),
                "，宣传、咨询、服务群众",
                _n(now["publicity.people_consulted"]),
                "。举办食品安全培训",
                _n(now["trainings.held"]),
                "，培训协管员、信息员和从业人员",
                _n(now["trainings.attendees"]),
                "。",
            )
        )
    )

    # 三、明确目标，加大整治
    document.add(Heading(SECTION_TITLES["enforcement"]))
    if own.get("enforcement"):
        document.add(Paragraph((own["enforcement"],), editable="enforcement"))
    _enforcement(document, data, where)

    # comparison table and charts
    document.add(Heading("主要数据对比", level=2))
    document.add(
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
        )
    )
    document.add(
        Chart(
            key="inspections_per_month",
            caption="图1 各月监督检查次数",
            labels=tuple(label for label, _, _ in data.monthly_inspections),
            values=tuple(count for _, count, _ in data.monthly_inspections),
            unit="次",
        )
    )
    levels = now["incidents.reported"].groups
    document.add(
        Chart(
            key="incidents_by_level",
            caption="图2 食品安全事故分级情况",
            labels=tuple(item.label for item in levels),
            values=tuple(item.value for item in levels),
            unit="起",
        )
    )
    coverage = data.current.coverage
    if scope.level == "county":
        places = [(t.name, t.township_id, t.registered, t.graded, t.ratio) for t in coverage.by_township]
        chart_caption, table_caption, place_word = (
            "图3 各乡镇量化分级实施率",
            "表2 各乡镇量化分级实施情况",
            "乡镇",
        )
    else:
        places = [(v.name, v.village_id, v.registered, v.graded, v.ratio) for v in coverage.by_village]
        chart_caption, table_caption, place_word = "图3 各村量化分级实施率", "表2 各村量化分级实施情况", "村"
    document.add(
        Chart(
            key="coverage_by_village",
            caption=chart_caption,
            labels=tuple(name for name, *_ in places),
            values=tuple(round((ratio or 0) * 100, 1) for *_, ratio in places),
            unit="%",
            kind="percent",
        )
    )
    document.add(
        Table(
            caption=table_caption,
            headers=(place_word, "应实施（家）", "已实施（家）", "实施率"),
            rows=tuple(
                (name, str(registered), str(graded), _percent(ratio))
                for name, _, registered, graded, ratio in places
            ),
        )
    )

    # 存在的问题
    document.add(Heading(SECTION_TITLES["problems"]))
    if own.get("problems"):
        document.add(Paragraph((own["problems"],), editable="problems"))
    else:
        for index, spans in enumerate(_problems(data), start=1):
            document.add(Paragraph((f"{index}. ", *spans)))

    # 下一步工作计划
    document.add(Heading(SECTION_TITLES["plan"]))
    if own.get("plan"):
        document.add(Paragraph((own["plan"],), editable="plan"))
    else:
        for index, text in enumerate(_plan(data), start=1):
            document.add(Paragraph((f"{index}. {text}",)))
    return document


def _enforcement(document: Document, data: SummaryData, where: str) -> None:
    now = data.current.figures
    coverage = data.current.coverage
    document.add(
        Paragraph(
            (
                "1、认真开展摸底排查，登记造册。",
                f"{where}登记在册食品生产经营单位",
                _n(now["businesses.registered"]),
                *_breakdown(now["businesses.registered"]),
                "，本期新登记",
                _n(now["businesses.new"]),
                "。",
            )
        )
    )
    document.add(
        Paragraph(
            (
                "2、加强日常监督检查。本期开展监督检查",
                _n(now["inspections.total"]),
                *_breakdown(now["inspections.total"]),
                "，检查经营单位",
                _n(now["inspections.businesses"]),
                "；检查结果符合",
                _n(now["inspections.by_outcome"], "compliant"),
                "、基本符合",
                _n(now["inspections.by_outcome"], "basically_compliant"),
                "、不符合",
                _n(now["inspections.by_outcome"], "non_compliant"),
                "。量化分级管理实施率",
                _percent(coverage.ratio),
                f"（目标{_percent(coverage.target)}，已实施",
                _n(now["coverage.graded"]),
                "，应实施",
                _n(now["coverage.registered"]),
                "）。",
            )
        )
    )
    document.add(
        Paragraph(
            (
                "3、落实问题整改。检查发现问题",
                _n(now["problems.found"]),
                "，下达限期整改",
                _n(now["problems.ordered"]),
                "，按期整改到位",
                _n(now["problems.rectified_on_time"]),
                "，逾期后整改到位",
                _n(now["problems.rectified_late"]),
                "，整改逾期",
                _n(now["problems.overdue"]),
                "，期末尚未完成整改",
                _n(now["problems.open"]),
                "；涉嫌违法犯罪移送公安机关",
                _n(now["problems.referred"]),
                "。",
            )
        )
    )
    document.add(
        Paragraph(
            (
                "4、规范证照管理。期末有效证照",
                _n(now["licences.valid"]),
                "，即将到期",
                _n(now["licences.expiring"]),
                "，已过期",
                _n(now["licences.expired"]),
                "，未办理食品经营许可证",
                _n(now["licences.missing_permit"]),
                "；从业人员有效健康证",
                _n(now["certificates.valid"]),
                "，即将到期",
                _n(now["certificates.expiring"]),
                "，已过期",
                _n(now["certificates.expired"]),
                "。",
            )
        )
    )
    campaign_spans: list[Span] = ["5、开展专项整治。本期开展专项及节日检查", _n(now["campaigns.inspections"])]
    for campaign in data.current.campaigns:
        campaign_spans += [
            f"；“{campaign.name}”完成检查",
            Number(campaign.done, "次", campaign.link),
        ]
        if campaign.target:
            campaign_spans += [f"，目标{campaign.target}次，完成率{_percent(campaign.ratio)}"]
    document.add(Paragraph((*campaign_spans, "。")))
    document.add(
        Paragraph(
            (
                "6、及时处理投诉举报。受理投诉举报",
                _n(now["complaints.received"]),
                "，按时受理",
                _n(now["complaints.accepted_on_time"]),
                "，办结",
                _n(now["complaints.closed"]),
                "，其中按时办结",
                _n(now["complaints.closed_in_time"]),
                "，超时未处理",
                _n(now["complaints.deadline_missed"]),
                "。",
            )
        )
    )
    document.add(
        Paragraph(
            (
                "7、妥善处置食品安全事故。本期发生食品安全事故",
                _n(now["incidents.reported"]),
                *_breakdown(now["incidents.reported"]),
                "，发病",
                _n(now["incidents.ill"]),
                "，死亡",
                _n(now["incidents.deaths"]),
                "；已确认响应",
                _n(now["incidents.acknowledged"]),
                "，平均确认用时",
                _n(now["incidents.minutes_to_acknowledge"]),
                "，已处置结案",
                _n(now["incidents.closed"]),
                "，平均处置用时",
                _n(now["incidents.hours_to_close"]),
                "。",
            )
        )
    )
    document.add(
        Paragraph(
            (
                "8、加强农村群体性宴席管理。备案群体性宴席",
                _n(now["banquets.filed"]),
                "，就餐",
                _n(now["banquets.people"]),
                "，其中迟报",
                _n(now["banquets.late"]),
                "，需现场指导",
                _n(now["banquets.guidance_due"]),
                "。",
            )
        )
    )


def _problems(data: SummaryData) -> list[tuple[Span, ...]]:
    """The weak points the figures show, for a summary whose authors wrote none of their own."""
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


def _plan(data: SummaryData) -> list[str]:
    now = data.current.figures
    plan = ["加大检查力度，规范食品安全相关制度，督促从业人员办理健康证后方可上岗。"]
    if now["problems.open"].value:
        plan.append("加大整改力度，对不合格的食品生产经营单位限期整改，确保整改到位。")
    coverage = data.current.coverage
    if coverage.ratio is None or coverage.ratio < coverage.target:
        plan.append("全面推行量化分级管理，确保实施率达到100%。")
    plan.append("强化宣传培训，加强协管员、信息员业务知识培训，提高群众食品安全意识。")
    plan.append("以中秋、国庆、元旦、春节等节日为重点，开展节日食品专项整治。")
    return plan
