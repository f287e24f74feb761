"""Supervision metrics of the inspection service (names are the contract with deploy/ dashboards).

Both gauges are recomputed from the database at every scheduler tick rather than counted from
events, so every replica reports the same figure and a restart loses nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Gauge
from sqlmodel import Session, col

from services.inspection.directory.models import DirectoryBusiness
from services.inspection.plans import service as plans
from services.inspection.rectification import service as rectification
from shared.auth import Principal, Role
from shared.clock import Clock, local_today
from shared.db import Database

METRICS_SUBJECT = "inspection-metrics"


@dataclass(frozen=True)
class SupervisionFigures:
    """Per township: open rectification orders past their deadline, and grading coverage."""

    overdue: dict[str, int]
    coverage: dict[str, float]


def supervision_figures(session: Session, *, on: date) -> SupervisionFigures:
    """Coverage is the figure GET /coverage gives a county office, computed for every county the
    directory knows; a township with businesses but no overdue order reports 0, not nothing."""
    counties = session.execute(sa.select(col(DirectoryBusiness.county_id)).distinct()).scalars().all()
    coverage: dict[str, float] = {}
    for county_id in counties:
        office = Principal(subject=METRICS_SUBJECT, role=Role.county, county_id=county_id)
        for township in plans.coverage(session=session, principal=office, on=on).townships:
            if township.ratio is not None:  # always a figure: a township is listed for its businesses
                coverage[township.township_id] = township.ratio
    overdue = dict.fromkeys(coverage, 0)
    for (_, township_id), count in rectification.overdue_by_township(session, today=on).items():
        overdue[township_id] = overdue.get(township_id, 0) + count
    return SupervisionFigures(overdue=overdue, coverage=coverage)


class InspectionMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.rectifications_overdue = Gauge(
            "shian_rectifications_overdue",
            "Open rectification orders past their deadline, by township (recomputed every tick).",
            ["township"],
            registry=registry,
        )
        self.grading_coverage = Gauge(
            "shian_grading_coverage_ratio",
            "Businesses graded in the last 12 months / businesses registered, by township "
            "(the figure of GET /coverage; recomputed every tick).",
            ["township"],
            registry=registry,
        )
        self._shown: dict[Gauge, set[str]] = {}

    def unregister(self, registry: CollectorRegistry) -> None:
        registry.unregister(self.rectifications_overdue)
        registry.unregister(self.grading_coverage)

    def refresh(self, db: Database, clock: Clock) -> SupervisionFigures:
        with db.session() as session:
            figures = supervision_figures(session, on=local_today(clock))
        self._publish(figures)
        return figures

    def _publish(self, figures: SupervisionFigures) -> None:
        self._set(self.rectifications_overdue, figures.overdue)
        self._set(self.grading_coverage, figures.coverage)

    def _set(self, gauge: Gauge, values: dict[str, int] | dict[str, float]) -> None:
        """Set every township's value, then drop townships that are gone (no business left), so a
        scrape never sees the gauge empty in between."""
        for township, value in values.items():
            gauge.labels(township=township).set(value)
        shown = self._shown.get(gauge, set())
        for township in shown - values.keys():
            gauge.remove(township)
        self._shown[gauge] = set(values)
