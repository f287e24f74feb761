"""The alerts service's harness: incidents reported over HTTP, businesses fed as events, and the
scheduler's tick and the notification run driven by hand.

The background loops run with a one-minute period, so a test decides when the scheduler ticks
(`tick()`) and when notifications go out (`deliver()`); the loops themselves are exercised by the
process test."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

from services.alerts.context import AlertsContext
from services.alerts.escalation.scheduler import TickReport, tick
from services.alerts.notifications.service import DeliveryRun, deliver_pending
from shared.catalogue.registry import BusinessRegistered
from tests.support.county import DONGSHAN, SHANGCUN, START
from tests.support.harness import ServiceHarness

WRITES = (
    "incidents",
    "incident_reports",
    "incident_timeline",
    "escalation_timers",
    "escalation_policies",
    "notifications",
    "notification_channels",
    "ack_links",
    "alerts",
    "outbox",
    "audit_log",
)


def incident_body(**fields: object) -> dict[str, Any]:
    """A level IV banquet outbreak in Shangcun, with `fields` changed."""
    return {
        "township_id": DONGSHAN,
        "village_id": SHANGCUN,
        "ill_count": 35,
        "death_count": 0,
        "place_kind": "banquet",
        "onset_at": (START - timedelta(hours=3)).isoformat(),
        "description": "婚宴后多人腹泻呕吐",
        **fields,
    }


class Alerts(ServiceHarness):
    writes: ClassVar[tuple[str, ...]] = WRITES

    @property
    def context(self) -> AlertsContext:
        return self.client.app.state.alerts  # type: ignore[attr-defined]

    def report(self, who: str = "shangcun", **fields: object) -> dict[str, Any]:
        response = self.as_(who, "POST", "/incidents", json=incident_body(**fields))
        assert response.status_code == 201, response.text
        return response.json()

    def business(self, name: str = "好味餐馆", *, township_id: str = DONGSHAN) -> str:
        business_id = uuid.uuid4()
        self.feed(
            BusinessRegistered(
                business_id=business_id,
                name=name,
                kind="catering",
                village_id=SHANGCUN if township_id == DONGSHAN else None,
                risk_level="B",
                registered_on=START.date(),
            ),
            township_id=township_id,
        )
        return str(business_id)

    def tick(self) -> TickReport:
        return tick(self.runtime.db, self.clock, self.context.escalator)

    def deliver(self) -> DeliveryRun:
        return deliver_pending(self.runtime.db, self.context.delivery, self.clock)

    def escalations(self, incident_id: str) -> list[dict[str, Any]]:
        return [e["payload"] for e in self.events("alert.escalated", incident_id)]


AlertsFactory = Callable[..., Alerts]
