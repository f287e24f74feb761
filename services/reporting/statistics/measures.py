"""Every figure reporting shows, defined by the records behind it.

A measure is a query of records (one row per business, inspection, order, ...) inside a place and
period; its figure is the count, sum or average over exactly those rows, and its drill-down lists
them. So a figure and the list behind it can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import sqlalchemy as sa

from services.reporting.activities.models import PublicityEvent, Training, VillageAssessment
from services.reporting.readmodels.alerts import ReportAlert, ReportIncident
from services.reporting.readmodels.inspection import (
    ReportCase,
    ReportComplaint,
    ReportInspection,
    ReportRectification,
    ReportViolation,
)
from services.reporting.readmodels.registry import (
    ReportBanquet,
    ReportBusiness,
    ReportCertificate,
    ReportLetter,
    ReportLicence,
    ReportStaff,
)
from services.reporting.rules import expiry_window, grading_coverage
from services.reporting.statistics import labels
from services.reporting.statistics.periods import Period
from services.reporting.statistics.scope import Scope
from services.reporting.summaries.service import local_day_bounds
from shared.catalogue.alerts import LEVEL_LABELS

Records = Callable[[Scope, Period], sa.Select]

B = ReportBusiness.__table__
LIC = ReportLicence.__table__
CERT = ReportCertificate.__table__
STAFF = ReportStaff.__table__
INS = ReportInspection.__table__
VIO = ReportViolation.__table__
RECT = ReportRectification.__table__
CASE = ReportCase.__table__
COMP = ReportComplaint.__table__
INC = ReportIncident.__table__
ALERT = ReportAlert.__table__
BANQ = ReportBanquet.__table__
LET = ReportLetter.__table__
PUB = PublicityEvent.__table__
TRAIN = Training.__table__
ASSESS = VillageAssessment.__table__

CAMPAIGN_KINDS = ("campaign", "holiday")


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    section: str
    records: Records
    agg: Literal["count", "sum", "avg"] = "count"
    column: str | None = None  # summed or averaged column of the records
    group: str | None = None  # column of the records the figure is broken down by
    groups: dict[str, str] | None = None  # known groups (always listed) and their labels
    unit: str = ""


def _in_period(column: sa.ColumnElement, period: Period) -> sa.ColumnElement[bool]:
    return column.between(period.first, period.last)


# ---- businesses and their papers -------------------------------------------------------------

_BUSINESS_COLUMNS = (
    B.c.id,
    B.c.name,
    B.c.kind,
    B.c.status,
    B.c.risk_level,
    B.c.township_id,
    B.c.village_id,
    B.c.registered_on,
)


def registered(scope: Scope, period: Period) -> sa.Select:
    return sa.select(*_BUSINESS_COLUMNS).where(*scope.where(B), B.c.registered_on <= period.last)


def registered_in_period(scope: Scope, period: Period) -> sa.Select:
    return registered(scope, period).where(B.c.registered_on >= period.first)


def _active(scope: Scope, period: Period) -> sa.Select:
    return registered(scope, period).where(B.c.status != "closed")


def _licences(scope: Scope, period: Period) -> sa.Select:
    return (
        sa.select(
            LIC.c.business_id,
            B.c.name,
            LIC.c.licence_kind,
            LIC.c.number,
            LIC.c.issued_on,
            LIC.c.expires_on,
            LIC.c.township_id,
        )
        .join(B, B.c.id == LIC.c.business_id)
        .where(*scope.where(LIC), B.c.status != "closed", B.c.registered_on <= period.end)
        .where(sa.or_(LIC.c.issued_on.is_(None), LIC.c.issued_on <= period.end))
    )


def _window(scope: Scope, period: Period, kind: str) -> date:
    rule = expiry_window.rule_for(scope.county_id, period.end)
    return period.end + timedelta(days=rule.licence_days if kind == "licence" else rule.certificate_days)


def licences_valid(scope: Scope, period: Period) -> sa.Select:
    return _licences(scope, period).where(LIC.c.expires_on >= period.end)


def licences_expiring(scope: Scope, period: Period) -> sa.Select:
    return _licences(scope, period).where(
        LIC.c.expires_on.between(period.end, _window(scope, period, "licence"))
    )


def licences_expired(scope: Scope, period: Period) -> sa.Select:
    return _licences(scope, period).where(LIC.c.expires_on < period.end)


def without_permit(scope: Scope, period: Period) -> sa.Select:
    permit = sa.select(LIC.c.business_id).where(
        LIC.c.licence_kind == "food_permit",
        sa.or_(LIC.c.issued_on.is_(None), LIC.c.issued_on <= period.end),
    )
    return _active(scope, period).where(B.c.id.not_in(permit))


def _certificates(scope: Scope, period: Period) -> sa.Select:
    """The certificate that counts for each food handler: the newest issued by the period's end,
    of staff still on the list."""
    newer = CERT.alias("newer")
    superseded = sa.exists().where(
        newer.c.staff_id == CERT.c.staff_id,
        newer.c.issued_on > CERT.c.issued_on,
        newer.c.issued_on <= period.end,
    )
    left = sa.exists().where(STAFF.c.id == CERT.c.staff_id, STAFF.c.active.is_(False))
    return (
        sa.select(
            CERT.c.id,
            CERT.c.business_id,
            B.c.name,
            CERT.c.staff_name,
            CERT.c.issued_on,
            CERT.c.expires_on,
            CERT.c.township_id,
        )
        .join(B, B.c.id == CERT.c.business_id)
        .where(*scope.where(CERT), B.c.status != "closed")
        .where(sa.or_(CERT.c.issued_on.is_(None), CERT.c.issued_on <= period.end))
        .where(~superseded, ~left)
    )


def certificates_valid(scope: Scope, period: Period) -> sa.Select:
    return _certificates(scope, period).where(CERT.c.expires_on >= period.end)


def certificates_expiring(scope: Scope, period: Period) -> sa.Select:
    return _certificates(scope, period).where(
        CERT.c.expires_on.between(period.end, _window(scope, period, "certificate"))
    )


def certificates_expired(scope: Scope, period: Period) -> sa.Select:
    return _certificates(scope, period).where(CERT.c.expires_on < period.end)


# ---- inspections, grading, problems ----------------------------------------------------------


def inspections(scope: Scope, period: Period) -> sa.Select:
    return (
        sa.select(
            INS.c.id,
            INS.c.business_id,
            B.c.name,
            INS.c.kind,
            INS.c.inspected_on,
            INS.c.outcome,
            INS.c.action,
            INS.c.score,
            sa.func.coalesce(INS.c.dynamic_grade, "none").label("grade"),
            INS.c.failed_count,
            INS.c.township_id,
        )
        .select_from(INS.outerjoin(B, B.c.id == INS.c.business_id))
        .where(*scope.where(INS), _in_period(INS.c.inspected_on, period))
    )


def campaign_inspections(scope: Scope, period: Period) -> sa.Select:
    return inspections(scope, period).where(INS.c.kind.in_(CAMPAIGN_KINDS))


def businesses_inspected(scope: Scope, period: Period) -> sa.Select:
    inspected = sa.select(INS.c.business_id).where(*scope.where(INS), _in_period(INS.c.inspected_on, period))
    return registered(scope, period).where(B.c.id.in_(inspected))


def coverage_registered(scope: Scope, period: Period) -> sa.Select:
    """Active businesses at the period's end, each with whether it holds a dynamic grade from an
    inspection in the window before that day (the coverage rule)."""
    rule = grading_coverage.rule_for(scope.county_id, period.end)
    since = _months_before(period.end, rule.window_months)
    graded = sa.exists().where(
        INS.c.business_id == B.c.id,
        INS.c.dynamic_grade.is_not(None),
        INS.c.inspected_on > since,
        INS.c.inspected_on <= period.end,
    )
    return sa.select(*_BUSINESS_COLUMNS, graded.label("graded")).where(
        *scope.where(B), B.c.registered_on <= period.end, B.c.status == "active"
    )


def coverage_graded(scope: Scope, period: Period) -> sa.Select:
    query = coverage_registered(scope, period)
    graded = query.selected_columns.graded
    return query.where(graded)


def _months_before(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for candidate in range(day.day, 0, -1):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise ValueError(day)


def violations(scope: Scope, period: Period) -> sa.Select:
    return (
        sa.select(VIO.c.inspection_id, VIO.c.item_code, VIO.c.business_id, B.c.name, VIO.c.inspected_on)
        .select_from(VIO.outerjoin(B, B.c.id == VIO.c.business_id))
        .where(*scope.where(VIO), _in_period(VIO.c.inspected_on, period))
    )


def _orders() -> sa.Select:
    return sa.select(
        RECT.c.id,
        RECT.c.business_id,
        B.c.name,
        RECT.c.item_code,
        RECT.c.severity,
        RECT.c.ordered_on,
        RECT.c.deadline,
        RECT.c.verified_on,
        RECT.c.on_time,
        RECT.c.overdue_on,
        RECT.c.township_id,
    ).select_from(RECT.outerjoin(B, B.c.id == RECT.c.business_id))


def orders_issued(scope: Scope, period: Period) -> sa.Select:
    return _orders().where(*scope.where(RECT), _in_period(RECT.c.ordered_on, period))


def orders_on_time(scope: Scope, period: Period) -> sa.Select:
    return _orders().where(
        *scope.where(RECT), _in_period(RECT.c.verified_on, period), RECT.c.on_time.is_(True)
    )


def orders_late(scope: Scope, period: Period) -> sa.Select:
    return _orders().where(
        *scope.where(RECT), _in_period(RECT.c.verified_on, period), RECT.c.on_time.is_(False)
    )


def orders_overdue(scope: Scope, period: Period) -> sa.Select:
    return _orders().where(*scope.where(RECT), _in_period(RECT.c.overdue_on, period))


def orders_open(scope: Scope, period: Period) -> sa.Select:
    """Orders open at the end of the period (ordered by then, not yet verified then)."""
    return _orders().where(
        *scope.where(RECT),
        sa.or_(RECT.c.ordered_on.is_(None), RECT.c.ordered_on <= period.end),
        sa.or_(RECT.c.verified_on.is_(None), RECT.c.verified_on > period.end),
    )


def orders_open_past_deadline(scope: Scope, period: Period) -> sa.Select:
    return orders_open(scope, period).where(RECT.c.deadline < period.end)


def referrals(scope: Scope, period: Period) -> sa.Select:
    return (
        sa.select(CASE.c.id, CASE.c.business_id, B.c.name, CASE.c.reason, CASE.c.referred_on)
        .select_from(CASE.outerjoin(B, B.c.id == CASE.c.business_id))
        .where(*scope.where(CASE), _in_period(CASE.c.referred_on, period))
    )


# ---- complaints --------------------------------------------------------------------------------

_COMPLAINT_COLUMNS = (
    COMP.c.id,
    COMP.c.kind,
    COMP.c.channel,
    COMP.c.business_id,
    COMP.c.received_on,
    COMP.c.accepted,
    COMP.c.decided_on,
    COMP.c.decided_on_time,
    COMP.c.closed_on,
    COMP.c.closed_in_time,
    COMP.c.township_id,
)


def complaints_received(scope: Scope, period: Period) -> sa.Select:
    return sa.select(*_COMPLAINT_COLUMNS).where(*scope.where(COMP), _in_period(COMP.c.received_on, period))


def complaints_accepted_on_time(scope: Scope, period: Period) -> sa.Select:
    return sa.select(*_COMPLAINT_COLUMNS).where(
        *scope.where(COMP), _in_period(COMP.c.decided_on, period), COMP.c.decided_on_time.is_(True)
    )


def complaints_closed(scope: Scope, period: Period) -> sa.Select:
    return sa.select(*_COMPLAINT_COLUMNS).where(*scope.where(COMP), _in_period(COMP.c.closed_on, period))


def complaints_closed_in_time(scope: Scope, period: Period) -> sa.Select:
    return complaints_closed(scope, period).where(COMP.c.closed_in_time.is_(True))


def complaints_missed(scope: Scope, period: Period) -> sa.Select:
    return complaints_received(scope, period).where(sa.or_(COMP.c.accept_missed, COMP.c.verify_missed))


# ---- incidents and alerts ----------------------------------------------------------------------


def incidents(scope: Scope, period: Period) -> sa.Select:
    start, end = local_day_bounds(period.first, period.last)
    return sa.select(
        INC.c.id,
        INC.c.level,
        INC.c.status,
        INC.c.village_id,
        INC.c.place_kind,
        INC.c.ill_count,
        INC.c.death_count,
        INC.c.reported_at,
        (INC.c.seconds_to_acknowledge / 60.0).label("minutes_to_acknowledge"),
        (INC.c.seconds_to_close / 3600.0).label("hours_to_close"),
        INC.c.township_id,
    ).where(*scope.where(INC), INC.c.reported_at >= start, INC.c.reported_at < end)


def incidents_acknowledged(scope: Scope, period: Period) -> sa.Select:
    return incidents(scope, period).where(INC.c.acknowledged_at.is_not(None))


def incidents_closed(scope: Scope, period: Period) -> sa.Select:
    return incidents(scope, period).where(INC.c.status == "closed")


def alerts_raised(scope: Scope, period: Period) -> sa.Select:
    start, end = local_day_bounds(period.first, period.last)
    return sa.select(
        ALERT.c.id, ALERT.c.kind, ALERT.c.subject, ALERT.c.summary, ALERT.c.raised_at, ALERT.c.resolved_at
    ).where(*scope.where(ALERT), ALERT.c.raised_at >= start, ALERT.c.raised_at < end)


# ---- rural banquets, letters -----------------------------------------------------------------


def banquets(scope: Scope, period: Period) -> sa.Select:
    return sa.select(
        BANQ.c.id,
        BANQ.c.village_id,
        BANQ.c.host,
        BANQ.c.held_on,
        BANQ.c.filed_on,
        BANQ.c.people,
        BANQ.c.tables,
        BANQ.c.late,
        BANQ.c.guidance_due,
    ).where(*scope.where(BANQ), _in_period(BANQ.c.filed_on, period))


def banquets_late(scope: Scope, period: Period) -> sa.Select:
    return banquets(scope, period).where(BANQ.c.late.is_(True))


def banquets_guidance(scope: Scope, period: Period) -> sa.Select:
    return banquets(scope, period).where(BANQ.c.guidance_due.is_(True))


def letters(scope: Scope, period: Period) -> sa.Select:
    return sa.select(
        LET.c.id, LET.c.party_kind, LET.c.village_id, LET.c.business_id, LET.c.year, LET.c.signed_on
    ).where(*scope.where(LET), _in_period(LET.c.signed_on, period))


# ---- reporting's own records -----------------------------------------------------------------


def publicity(scope: Scope, period: Period) -> sa.Select:
    return sa.select(
        PUB.c.id,
        PUB.c.kind,
        PUB.c.title,
        PUB.c.held_on,
        PUB.c.village_id,
        PUB.c.banners,
        PUB.c.boards,
        PUB.c.leaflets,
        PUB.c.people_consulted,
        PUB.c.township_id,
    ).where(*scope.where(PUB), _in_period(PUB.c.held_on, period))


def trainings(scope: Scope, period: Period) -> sa.Select:
    return sa.select(
        TRAIN.c.id,
        TRAIN.c.title,
        TRAIN.c.audience,
        TRAIN.c.held_on,
        TRAIN.c.attendees,
        TRAIN.c.hours,
        TRAIN.c.township_id,
    ).where(*scope.where(TRAIN), _in_period(TRAIN.c.held_on, period))


def assessments(scope: Scope, period: Period) -> sa.Select:
    return sa.select(
        ASSESS.c.id,
        ASSESS.c.village_id,
        ASSESS.c.year,
        ASSESS.c.score,
        ASSESS.c.assessed_on,
        ASSESS.c.township_id,
    ).where(*scope.where(ASSESS), _in_period(ASSESS.c.assessed_on, period))


MEASURES: tuple[Measure, ...] = (
    Measure(
        "businesses.registered",
        "登记在册经营单位",
        "businesses",
        registered,
        group="kind",
        groups=labels.BUSINESS_KINDS,
        unit="家",
    ),
    Measure(
        "businesses.by_status",
        "经营状态",
        "businesses",
        registered,
        group="status",
        groups=labels.BUSINESS_STATUSES,
        unit="家",
    ),
    Measure(
        "businesses.by_risk",
        "风险等级",
        "businesses",
        registered,
        group="risk_level",
        groups=labels.RISK_LEVELS,
        unit="家",
    ),
    Measure(
        "businesses.new",
        "新登记经营单位",
        "businesses",
        registered_in_period,
        group="kind",
        groups=labels.BUSINESS_KINDS,
        unit="家",
    ),
    Measure(
        "licences.valid",
        "有效证照",
        "papers",
        licences_valid,
        group="licence_kind",
        groups=labels.LICENCE_KINDS,
        unit="个",
    ),
    Measure(
        "licences.expiring",
        "即将到期证照",
        "papers",
        licences_expiring,
        group="licence_kind",
        groups=labels.LICENCE_KINDS,
        unit="个",
    ),
    Measure(
        "licences.expired",
        "已过期证照",
        "papers",
        licences_expired,
        group="licence_kind",
        groups=labels.LICENCE_KINDS,
        unit="个",
    ),
    Measure("licences.missing_permit", "未办理食品经营许可证", "papers", without_permit, unit="家"),
    Measure("certificates.valid", "有效健康证", "papers", certificates_valid, unit="个"),
    Measure("certificates.expiring", "即将到期健康证", "papers", certificates_expiring, unit="个"),
    Measure("certificates.expired", "已过期健康证", "papers", certificates_expired, unit="个"),
    Measure(
        "inspections.total",
        "监督检查",
        "inspections",
        inspections,
        group="kind",
        groups=labels.INSPECTION_KINDS,
        unit="次",
    ),
    Measure(
        "inspections.by_outcome",
        "检查结果",
        "inspections",
        inspections,
        group="outcome",
        groups=labels.OUTCOMES,
        unit="次",
    ),
    Measure(
        "inspections.by_action",
        "处理措施",
        "inspections",
        inspections,
        group="action",
        groups=labels.ACTIONS,
        unit="次",
    ),
    Measure(
        "inspections.by_grade",
        "动态评级",
        "inspections",
        inspections,
        group="grade",
        groups=labels.GRADES,
        unit="次",
    ),
    Measure("inspections.businesses", "检查经营单位", "inspections", businesses_inspected, unit="家"),
    Measure(
        "inspections.average_score",
        "平均得分",
        "inspections",
        inspections,
        agg="avg",
        column="score",
        unit="分",
    ),
    Measure("coverage.registered", "应实施量化分级单位", "coverage", coverage_registered, unit="家"),
    Measure("coverage.graded", "已实施量化分级单位", "coverage", coverage_graded, unit="家"),
    Measure("problems.found", "发现问题", "problems", violations, unit="项"),
    Measure("problems.ordered", "下达限期整改", "problems", orders_issued, unit="项"),
    Measure("problems.rectified_on_time", "按期整改到位", "problems", orders_on_time, unit="项"),
    Measure("problems.rectified_late", "逾期后整改到位", "problems", orders_late, unit="项"),
    Measure("problems.overdue", "整改逾期", "problems", orders_overdue, unit="项"),
    Measure("problems.open", "期末未完成整改", "problems", orders_open, unit="项"),
    Measure(
        "problems.open_past_deadline", "期末已超期未整改", "problems", orders_open_past_deadline, unit="项"
    ),
    Measure("problems.referred", "移送公安机关", "problems", referrals, unit="件"),
    Measure("campaigns.inspections", "专项及节日检查", "campaigns", campaign_inspections, unit="次"),
    Measure(
        "complaints.received",
        "受理投诉举报",
        "complaints",
        complaints_received,
        group="kind",
        groups=labels.COMPLAINT_KINDS,
        unit="件",
    ),
    Measure("complaints.accepted_on_time", "按时受理", "complaints", complaints_accepted_on_time, unit="件"),
    Measure("complaints.closed", "办结", "complaints", complaints_closed, unit="件"),
    Measure("complaints.closed_in_time", "按时办结", "complaints", complaints_closed_in_time, unit="件"),
    Measure("complaints.deadline_missed", "超时未处理", "complaints", complaints_missed, unit="件"),
    Measure(
        "incidents.reported",
        "食品安全事故",
        "incidents",
        incidents,
        group="level",
        groups=LEVEL_LABELS,
        unit="起",
    ),
    Measure("incidents.acknowledged", "已确认响应", "incidents", incidents_acknowledged, unit="起"),
    Measure("incidents.closed", "已处置结案", "incidents", incidents_closed, unit="起"),
    Measure("incidents.ill", "发病人数", "incidents", incidents, agg="sum", column="ill_count", unit="人"),
    Measure(
        "incidents.deaths", "死亡人数", "incidents", incidents, agg="sum", column="death_count", unit="人"
    ),
    Measure(
        "incidents.minutes_to_acknowledge",
        "平均确认用时",
        "incidents",
        incidents_acknowledged,
        agg="avg",
        column="minutes_to_acknowledge",
        unit="分钟",
    ),
    Measure(
        "incidents.hours_to_close",
        "平均处置用时",
        "incidents",
        incidents_closed,
        agg="avg",
        column="hours_to_close",
        unit="小时",
    ),
    Measure(
        "alerts.raised",
        "预警提示",
        "incidents",
        alerts_raised,
        group="kind",
        groups=labels.ALERT_KINDS,
        unit="条",
    ),
    Measure("banquets.filed", "群体性宴席备案", "banquets", banquets, unit="场"),
    Measure("banquets.late", "迟报备案", "banquets", banquets_late, unit="场"),
    Measure("banquets.guidance_due", "需现场指导", "banquets", banquets_guidance, unit="场"),
    Measure("banquets.people", "就餐人数", "banquets", banquets, agg="sum", column="people", unit="人"),
    Measure("publicity.events", "宣传活动", "publicity", publicity, unit="次"),
    Measure(
        "publicity.banners", "悬挂宣传横幅", "publicity", publicity, agg="sum", column="banners", unit="条"
    ),
    Measure(
        "publicity.boards", "制作宣传展板", "publicity", publicity, agg="sum", column="boards", unit="块"
    ),
    Measure(
        "publicity.leaflets", "发放宣传材料", "publicity", publicity, agg="sum", column="leaflets", unit="份"
    ),
    Measure(
        "publicity.people_consulted",
        "咨询服务群众",
        "publicity",
        publicity,
        agg="sum",
        column="people_consulted",
        unit="人次",
    ),
    Measure("trainings.held", "举办培训", "trainings", trainings, unit="期"),
    Measure(
        "trainings.attendees", "培训人数", "trainings", trainings, agg="sum", column="attendees", unit="人次"
    ),
    Measure(
        "letters.signed",
        "签订目标责任书",
        "letters",
        letters,
        group="party_kind",
        groups=labels.LETTER_PARTIES,
        unit="份",
    ),
    Measure("assessments.scored", "村级年度考核", "assessments", assessments, unit="个"),
    Measure(
        "assessments.average_score",
        "考核平均分",
        "assessments",
        assessments,
        agg="avg",
        column="score",
        unit="分",
    ),
)

BY_KEY: dict[str, Measure] = {measure.key: measure for measure in MEASURES}
