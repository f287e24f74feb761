"""The township summary computed from the read models."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from services.reporting.readmodels.alerts import ReportIncident
from services.reporting.readmodels.registry import ReportBusiness
from services.reporting.summaries.models import BusinessFigures, IncidentFigures, TownshipSummary
from shared.catalogue.alerts import LEVEL_ORDER
from shared.clock import LOCAL_ZONE


def local_day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in Asia/Shanghai, as aware datetimes."""
    start = datetime.combine(first, time.min, tzinfo=LOCAL_ZONE)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=LOCAL_ZONE)
    return start, end


def township_summary(
    *, session: Session, township_id: str, township_name: str, period_from: date, period_to: date
) -> TownshipSummary:
    in_township = ReportBusiness.township_id == township_id
    by_kind = dict(
        session.exec(
            select(ReportBusiness.kind, sa.func.count())
            .where(in_township, ReportBusiness.registered_on <= period_to)
            .group_by(ReportBusiness.kind)
        ).all()
    )
    new = session.exec(
        select(sa.func.count())
        .select_from(ReportBusiness)
        .where(
            in_township,
            ReportBusiness.registered_on >= period_from,
            ReportBusiness.registered_on <= period_to,
        )
    ).one()

    start, end = local_day_bounds(period_from, period_to)
    rows = session.exec(
        select(
            ReportIncident.level,
            sa.func.count(),
            sa.func.sum(ReportIncident.ill_count),
            sa.func.sum(ReportIncident.death_count),
        )
        .where(
            ReportIncident.township_id == township_id,
            ReportIncident.reported_at >= start,
            ReportIncident.reported_at < end,
        )
        .group_by(ReportIncident.level)
    ).all()
    by_level = dict.fromkeys(LEVEL_ORDER, 0)
    ill = deaths = 0
    for level, count, level_ill, level_deaths in rows:
        by_level[level] = int(count)
        ill += int(level_ill or 0)
        deaths += int(level_deaths or 0)
    return TownshipSummary(
        township_id=township_id,
        township_name=township_name,
        period_from=period_from,
        period_to=period_to,
        businesses=BusinessFigures(
            registered_total=sum(by_kind.values()),
            registered_in_period=int(new),
            by_kind={kind: int(count) for kind, count in sorted(by_kind.items())},
        ),
        incidents=IncidentFigures(total=sum(by_level.values()), by_level=by_level, ill=ill, deaths=deaths),
    )
