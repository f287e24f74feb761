"""Figures for a place and a period, computed from the read models, and the records behind each."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlmodel import Session

from services.reporting.readmodels.inspection import ReportCampaign
from services.reporting.rules import grading_coverage
from services.reporting.statistics import measures
from services.reporting.statistics.labels import group_label
from services.reporting.statistics.measures import BY_KEY, MEASURES, Measure
from services.reporting.statistics.models import (
    CampaignFigure,
    Coverage,
    Figure,
    GroupFigure,
    PeriodRead,
    PlaceRead,
    RecordPage,
    Statistics,
    TownshipCoverage,
    VillageCoverage,
)
from services.reporting.statistics.periods import Period, date_range
from services.reporting.statistics.scope import Scope
from shared.errors import Invalid
from shared.rules import dated_by


def link(scope: Scope, period: Period, key: str, group: str | None = None) -> str:
    query = period.query() | ({"group": group} if group is not None else {})
    return f"/statistics/{scope.place_id}/records/{key}?{urlencode(query)}"


def _aggregate(measure: Measure, sub: sa.Subquery) -> sa.ColumnElement[Any]:
    if measure.agg == "count":
        return sa.func.count()
    if measure.column is None:
        raise ValueError(f"the figure {measure.key} sums or averages no column")
    column = sub.c[measure.column]
    if measure.agg == "sum":
        return sa.func.coalesce(sa.func.sum(column), 0)
    return sa.func.avg(column)


def _number(value: Any) -> float:
    if value is None:
        return 0
    number = float(value)
    return round(number, 2) if not number.is_integer() else number


def figure(session: Session, measure: Measure, scope: Scope, period: Period) -> Figure:
    sub = measure.records(scope, period).subquery()
    aggregate = _aggregate(measure, sub)
    groups: list[GroupFigure] = []
    if measure.group is None or measure.agg == "avg":
        total = _number(session.execute(sa.select(aggregate).select_from(sub)).scalar())
    else:
        found = {
            ("none" if group is None else str(group)): _number(value)
            for group, value in session.execute(
                sa.select(sub.c[measure.group], aggregate).group_by(sub.c[measure.group])
            )
        }
        names = measure.groups or {}
        for name in [*names, *sorted(set(found) - set(names))]:
            groups.append(
                GroupFigure(
                    group=name,
                    label=group_label(names, name),
                    value=found.get(name, 0),
                    link=link(scope, period, measure.key, name),
                )
            )
        total = _number(sum(found.values()))
    return Figure(
        key=measure.key,
        label=measure.label,
        section=measure.section,
        value=total,
        unit=measure.unit,
        link=link(scope, period, measure.key),
        groups=groups,
    )


def value(session: Session, key: str, scope: Scope, period: Period) -> float:
    return figure(session, BY_KEY[key], scope, period).value


def statistics(session: Session, scope: Scope, period: Period) -> Statistics:
    """Every figure; a period before the rule tables is the client's error (422), not the server's."""
    with dated_by(period.field):
        return _statistics(session, scope, period)


def _statistics(session: Session, scope: Scope, period: Period) -> Statistics:
    figures = {measure.key: figure(session, measure, scope, period) for measure in MEASURES}
    return Statistics(
        place=PlaceRead(id=scope.place_id, level=scope.level, name=scope.name),
        period=PeriodRead(code=period.code, label=period.label, first=period.first, last=period.last),
        figures=figures,
        campaigns=campaigns(session, scope, period),
        coverage=coverage(session, scope, period, figures),
    )


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def coverage(session: Session, scope: Scope, period: Period, figures: dict[str, Figure]) -> Coverage:
    rule = grading_coverage.rule_for(scope.county_id, period.end)
    sub = measures.coverage_registered(scope, period).subquery()
    per_village = {
        village: (int(registered), int(graded or 0))
        for village, registered, graded in session.execute(
            sa.select(
                sub.c.village_id, sa.func.count(), sa.func.sum(sa.cast(sub.c.graded, sa.Integer))
            ).group_by(sub.c.village_id)
        )
    }
    by_village = []
    for village_id, name in scope.villages(session):
        registered, graded = per_village.get(village_id, (0, 0))
        village = Scope(
            place_id=village_id,
            level="village",
            name=name,
            county_id=scope.county_id,
            township_id=scope.township_id,
            village_id=village_id,
        )
        by_village.append(
            VillageCoverage(
                village_id=village_id,
                name=name,
                registered=registered,
                graded=graded,
                ratio=_ratio(graded, registered),
                link=link(village, period, "coverage.registered"),
            )
        )
    by_township = []
    if scope.level == "county":
        per_township = {
            township: (int(registered), int(graded or 0))
            for township, registered, graded in session.execute(
                sa.select(
                    sub.c.township_id, sa.func.count(), sa.func.sum(sa.cast(sub.c.graded, sa.Integer))
                ).group_by(sub.c.township_id)
            )
        }
        for township_id, name in scope.townships(session):
            registered, graded = per_township.get(township_id, (0, 0))
            township = Scope(
                place_id=township_id,
                level="township",
                name=name,
                county_id=scope.county_id,
                township_id=township_id,
            )
            by_township.append(
                TownshipCoverage(
                    township_id=township_id,
                    name=name,
                    registered=registered,
                    graded=graded,
                    ratio=_ratio(graded, registered),
                    link=link(township, period, "coverage.registered"),
                )
            )
    registered_total = figures["coverage.registered"].value
    return Coverage(
        ratio=_ratio(figures["coverage.graded"].value, registered_total),
        target=rule.target_ratio,
        window_months=rule.window_months,
        by_village=by_village,
        by_township=by_township,
    )


def campaigns(session: Session, scope: Scope, period: Period) -> list[CampaignFigure]:
    """Campaigns running in the period: the inspections of campaign kind inside each campaign's
    days (and the period), against the target set for the place. A township's (or village's)
    figures list only the campaigns concerning it, county-wide ones (no targets) and those with a
    target for it, as inspection's GET /campaigns does: another township's campaign is not theirs
    to read."""
    table = ReportCampaign.__table__
    rows = session.execute(
        sa.select(table)
        .where(
            table.c.county_id == scope.county_id,
            table.c.starts_on <= period.last,
            table.c.ends_on >= period.first,
        )
        .order_by(table.c.starts_on, table.c.name)
    ).all()
    result = []
    for row in rows:
        if scope.township_id is not None and row.targets and scope.township_id not in row.targets:
            continue
        window = date_range(max(row.starts_on, period.first), min(row.ends_on, period.last))
        done = int(value(session, "campaigns.inspections", scope, window))
        if scope.village_id is not None:
            target = None
        elif scope.township_id is not None:
            target = row.targets.get(scope.township_id)
        else:
            target = sum(int(number) for number in row.targets.values()) or None
        result.append(
            CampaignFigure(
                campaign_id=str(row.id),
                name=row.name,
                kind=row.kind,
                starts_on=row.starts_on,
                ends_on=row.ends_on,
                target=target,
                done=done,
                ratio=_ratio(done, target) if target else None,
                link=link(scope, window, "campaigns.inspections"),
            )
        )
    return result


def _plain(item: Any) -> Any:
    if isinstance(item, uuid.UUID):
        return str(item)
    if isinstance(item, datetime | date):
        return item.isoformat()
    if isinstance(item, Decimal):
        return float(item)
    return item


MAX_PAGE = 1000


def records(
    session: Session,
    *,
    key: str,
    scope: Scope,
    period: Period,
    group: str | None,
    limit: int = 100,
    offset: int = 0,
) -> RecordPage:
    with dated_by(period.field):
        return _records(session, key=key, scope=scope, period=period, group=group, limit=limit, offset=offset)


def _records(
    session: Session, *, key: str, scope: Scope, period: Period, group: str | None, limit: int, offset: int
) -> RecordPage:
    measure = BY_KEY.get(key)
    if measure is None:
        raise Invalid("key", f"no figure {key!r}")
    if group is not None and measure.group is None:
        raise Invalid("group", f"the figure {key} has no groups")
    sub = measure.records(scope, period).subquery()
    query = sa.select(sub)
    if group is not None and measure.group is not None:
        column = sub.c[measure.group]
        query = query.where(sa.or_(column.is_(None), column == group) if group == "none" else column == group)
    total = int(session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
    first_column = next(iter(sub.c))
    rows = session.execute(query.order_by(first_column).limit(limit).offset(offset)).mappings()
    return RecordPage(
        key=key,
        label=measure.label,
        group=group,
        total=total,
        limit=limit,
        offset=offset,
        items=[{name: _plain(item) for name, item in row.items()} for row in rows],
    )
