"""The inspection service's harness: businesses, licences and incidents fed as the events the
registry and alerts publish, inspections recorded over HTTP, the deadline check driven by hand."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from httpx import Response

from services.inspection.app import SPEC, create
from services.inspection.checklists import templates
from services.inspection.scheduler import DeadlineReport, check_deadlines
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.registry import BusinessRegistered, LicenceRecorded
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.county import DONGSHAN, SHANGCUN, START
from tests.support.harness import ServiceHarness, running_service

WRITES = (
    "inspections",
    "inspection_items",
    "rectification_orders",
    "complaints",
    "campaigns",
    "outbox",
    "audit_log",
)


def results(
    kind: str = "catering", *, fail: tuple[str, ...] = (), na: tuple[str, ...] = (), only=None
) -> list[dict]:
    """Item results for the checklist in force: every item passes unless named."""
    template = templates.template_for(kind, on=START.date())
    assert template is not None
    codes = [item.code for item in template.items if only is None or item.code in only]
    return [
        {"code": code, "result": "fail" if code in fail else "not_applicable" if code in na else "pass"}
        for code in codes
    ]


class Inspection(ServiceHarness):
    writes: ClassVar[tuple[str, ...]] = WRITES

    def business(
        self,
        name: str = "好味餐馆",
        *,
        kind: str = "catering",
        township_id: str = DONGSHAN,
        village_id: str | None = SHANGCUN,
        risk_level: str = "B",
        registered_on: date = date(2020, 1, 1),
    ) -> str:
        business_id = uuid.uuid4()
        self.feed(
            BusinessRegistered(
                business_id=business_id,
                name=name,
                kind=kind,
                village_id=village_id,
                risk_level=risk_level,  # type: ignore[arg-type]
                registered_on=registered_on,
            ),
            township_id=township_id,
        )
        return str(business_id)

    def licence(self, business_id: str, issued_on: date, number: str = "JY13301020000001") -> None:
        self.feed(
            LicenceRecorded(
                business_id=uuid.UUID(business_id),
                licence_kind="food_permit",
                number=number,
                issued_on=issued_on,
                expires_on=issued_on + timedelta(days=5 * 365),
            )
        )

    def incident(self, business_id: str, reported_at: datetime | None = None) -> uuid.UUID:
        incident_id = uuid.uuid4()
        self.feed(
            IncidentReported(
                incident_id=incident_id,
                business_id=uuid.UUID(business_id),
                village_id=SHANGCUN,
                place_kind="restaurant",
                ill_count=12,
                death_count=0,
                level="below_IV",
                reported_at=reported_at or self.clock.now(),
                description="就餐后腹泻",
            ),
            actor="system:alerts",
        )
        return incident_id

    def inspect(self, business_id: str, who: str = "inspector", **fields: Any) -> Response:
        body = {
            "business_id": business_id,
            "kind": "routine",
            "inspectors": ["王强", "陈静"],
            "items": results(),
        }
        body.update(fields)
        return self.as_(who, "POST", "/inspections", json=body)

    def inspected(self, business_id: str, who: str = "inspector", **fields: Any) -> dict[str, Any]:
        response = self.inspect(business_id, who, **fields)
        assert response.status_code == 201, response.text
        return response.json()

    def check_deadlines(self) -> DeadlineReport:
        return check_deadlines(self.runtime.db, self.clock)


@contextmanager
def running(settings: Settings, clock: ManualClock) -> Iterator[Inspection]:
    """The service started on its (migrated) database; stopped when the block ends."""
    with running_service(Inspection, SPEC, create, settings, clock) as system:
        yield system
