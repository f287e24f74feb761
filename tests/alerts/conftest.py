"""The alerts service on its own, in-process: its app on the test Redis, SQLite under tmp and a
manual clock. What other services would send (places, businesses, inspections, ...) is fed to its
inbox processor as envelopes, the same path an event from Redis takes after decoding.

The background loops run with a one-minute period, so a test decides when the scheduler ticks
(`tick()`) and when notifications go out (`deliver()`); the loops themselves are exercised by the
process test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from services.alerts.app import SPEC, create
from services.alerts.config import AlertsConfig
from services.alerts.context import AlertsContext
from services.alerts.escalation.scheduler import TickReport, tick
from services.alerts.notifications.service import DeliveryRun, deliver_pending
from shared.auth import Role, issue_token
from shared.catalogue.registry import BusinessRegistered, PlaceDefined
from shared.clock import LOCAL_ZONE, ManualClock
from shared.events import Envelope, EventPayload
from shared.migrations import upgrade
from shared.service import ServiceRuntime
from shared.settings import Settings
from tests.services.conftest import COUNTY, DEFINITION, DONGSHAN, SHANGCUN, XISHUI

START = datetime(2026, 3, 2, 9, 0, tzinfo=LOCAL_ZONE)  # a Monday morning

TOKENS: dict[str, dict[str, Any]] = {
    "county": {"subject": "county-office", "role": Role.county, "county_id": COUNTY},
    "dongshan": {"subject": "ds-office", "role": Role.township, "county_id": COUNTY, "township_id": DONGSHAN},
    "xishui": {"subject": "xs-office", "role": Role.township, "county_id": COUNTY, "township_id": XISHUI},
    "inspector": {
        "subject": "ds-inspector",
        "role": Role.inspector,
        "county_id": COUNTY,
        "township_id": DONGSHAN,
    },
    "shangcun": {
        "subject": "li-ming",
        "role": Role.village,
        "county_id": COUNTY,
        "township_id": DONGSHAN,
        "village_id": SHANGCUN,
    },
    "ops": {"subject": "ops", "role": Role.ops, "county_id": COUNTY},
}

WRITES = (
    "incidents",
    "incident_reports",
    "incident_timeline",
    "escalation_timers",
    "escalation_policies",
    "notifications",
    "alerts",
    "outbox",
    "audit_log",
)


def incident_body(**fields: object) -> dict[str, Any]:
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


def place_events() -> list[PlaceDefined]:
    events = [PlaceDefined(place_id=COUNTY, level="county", name=DEFINITION["name"])]
    for township in DEFINITION["townships"]:
        events.append(
            PlaceDefined(place_id=township["id"], level="township", name=township["name"], parent_id=COUNTY)
        )
        for village in township["villages"]:
            events.append(
                PlaceDefined(
                    place_id=village["id"], level="village", name=village["name"], parent_id=township["id"]
                )
            )
    return events


@dataclass
class Alerts:
    client: TestClient
    clock: ManualClock
    settings: Settings
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def runtime(self) -> ServiceRuntime:
        return self.client.app.state.runtime  # type: ignore[attr-defined]

    @property
    def context(self) -> AlertsContext:
        return self.client.app.state.alerts  # type: ignore[attr-defined]

    def as_(self, who: str, method: str, url: str, **kwargs: Any) -> Response:
        return self.client.request(method, url, headers=self.headers[who], **kwargs)

    def report(self, who: str = "shangcun", **fields: object) -> dict[str, Any]:
        response = self.as_(who, "POST", "/incidents", json=incident_body(**fields))
        assert response.status_code == 201, response.text
        return response.json()

    def feed(
        self, payload: EventPayload, *, township_id: str | None = DONGSHAN, actor: str = "system:registry"
    ) -> Envelope:
        """Apply an event as if it had arrived from another service's stream."""
        envelope = Envelope.wrap(
            payload, county_id=COUNTY, township_id=township_id, actor=actor, occurred_at=self.clock.now()
        )
        result = self.runtime.processor.process([envelope])
        assert not result.errors, result.errors
        return envelope

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
        return deliver_pending(self.runtime.db, self.context.channels, self.clock, self.context.metrics)

    def advance(self, **delta: float) -> datetime:
        return self.clock.advance(timedelta(**delta))

    def events(self, event_type: str | None = None, incident_id: str | None = None) -> list[dict[str, Any]]:
        """Envelopes this service wrote to its outbox, oldest first (payloads as JSON)."""
        outbox = self.runtime.db.infra.outbox
        query = sa.select(outbox.c.body).order_by(outbox.c.id)
        if event_type:
            query = query.where(outbox.c.event_type == event_type)
        with self.runtime.db.engine.connect() as connection:
            envelopes = [
                Envelope.from_bytes(body).model_dump(mode="json")
                for body in connection.execute(query).scalars()
            ]
        if incident_id is not None:
            envelopes = [e for e in envelopes if e["payload"].get("incident_id") == incident_id]
        return envelopes

    def escalations(self, incident_id: str) -> list[dict[str, Any]]:
        return [e["payload"] for e in self.events("alert.escalated", incident_id)]

    def counts(self, tables: tuple[str, ...] = WRITES) -> dict[str, int]:
        with self.runtime.db.engine.connect() as connection:
            return {
                t: int(connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables
            }


AlertsFactory = Callable[..., Alerts]


@pytest.fixture
def make_alerts(settings: Settings) -> Iterator[AlertsFactory]:
    """Start the service (once per test) with optional AlertsConfig overrides."""
    upgrade(SPEC.migrations, settings.database_url("alerts"))
    opened: list[TestClient] = []

    def start(**overrides: Any) -> Alerts:
        clock = ManualClock(START)
        config = AlertsConfig(**{"env": "test", "tick_seconds": 60, "notify_seconds": 60, **overrides})
        client = TestClient(create(settings, clock, config=config))
        client.__enter__()
        opened.append(client)
        system = Alerts(client=client, clock=clock, settings=settings)
        system.headers = {
            who: {"Authorization": f"Bearer {issue_token(settings, **claims)}"}
            for who, claims in TOKENS.items()
        }
        for event in place_events():
            system.feed(event, township_id=event.place_id if event.level == "township" else None)
        return system

    yield start
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def alerts(make_alerts: AlertsFactory) -> Alerts:
    return make_alerts()
