"""The inspection service on its own, in-process: its app on the test Redis, SQLite under tmp and a
manual clock. What other services would send (places, businesses, licences, incidents) is fed to its
inbox processor as envelopes, the same path an event from Redis takes after decoding."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from services.inspection.app import SPEC, create
from services.inspection.checklists import templates
from services.inspection.scheduler import DeadlineReport, check_deadlines
from shared.auth import Role, issue_token
from shared.catalogue.alerts import IncidentReported
from shared.catalogue.registry import BusinessRegistered, LicenceRecorded, PlaceDefined
from shared.clock import LOCAL_ZONE, ManualClock, local_today
from shared.events import Envelope, EventPayload
from shared.migrations import upgrade
from shared.service import ServiceRuntime
from shared.settings import Settings
from tests.services.conftest import COUNTY, DEFINITION, DONGSHAN, HECUN, SHANGCUN, XISHUI, wait_for

START = datetime(2026, 3, 2, 9, 0, tzinfo=LOCAL_ZONE)  # a Monday

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


@dataclass
class Inspection:
    client: TestClient
    clock: ManualClock
    settings: Settings
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def runtime(self) -> ServiceRuntime:
        return self.client.app.state.runtime  # type: ignore[attr-defined]

    @property
    def today(self) -> date:
        return local_today(self.clock)

    def as_(self, who: str, method: str, url: str, headers: dict | None = None, **kwargs: Any) -> Response:
        return self.client.request(method, url, headers={**self.headers[who], **(headers or {})}, **kwargs)

    def feed(
        self, payload: EventPayload, *, township_id: str | None = DONGSHAN, actor: str = "system:registry"
    ) -> None:
        """Apply an event as if it had arrived from another service's stream."""
        envelope = Envelope.wrap(payload, county_id=COUNTY, township_id=township_id, actor=actor)
        result = self.runtime.processor.process([envelope])
        assert not result.errors, result.errors

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

    def counts(self, *tables: str) -> dict[str, int]:
        with self.runtime.db.engine.connect() as connection:
            return {
                table: int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in tables
            }

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Envelopes in the outbox (published or not), oldest first."""
        with self.runtime.db.engine.connect() as connection:
            bodies = connection.execute(sa.text("SELECT body FROM outbox ORDER BY id")).scalars().all()
        envelopes = [json.loads(body) for body in bodies]
        return [item for item in envelopes if event_type is None or item["type"] == event_type]

    def advance(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))

    def check_deadlines(self) -> DeadlineReport:
        return check_deadlines(self.runtime.db, self.clock)


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


@contextmanager
def running(settings: Settings, clock: ManualClock) -> Iterator[Inspection]:
    """The service started on its (migrated) database; stopped when the block ends."""
    upgrade(SPEC.migrations, settings.database_url("inspection"))
    with TestClient(create(settings, clock)) as client:
        system = Inspection(client=client, clock=clock, settings=settings)
        system.headers = {
            who: {"Authorization": f"Bearer {issue_token(settings, **claims)}"}
            for who, claims in TOKENS.items()
        }
        yield system


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def inspection(settings: Settings, clock: ManualClock) -> Iterator[Inspection]:
    with running(settings, clock) as system:
        for event in place_events():
            system.feed(event, township_id=None)
        yield system


__all__ = [
    "COUNTY",
    "DONGSHAN",
    "HECUN",
    "SHANGCUN",
    "START",
    "WRITES",
    "XISHUI",
    "Inspection",
    "results",
    "running",
    "wait_for",
]


from tests.services.conftest import county  # noqa: E402, F401  (the four services, for the cross-service tests)
