"""The registry on its own, in-process: its app on the test Redis, SQLite under tmp, a manual clock
and the demo county loaded. Tests that need the other services use `county` from tests/services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from services.registry.app import SPEC, create
from shared.auth import Role, issue_token
from shared.clock import LOCAL_ZONE, ManualClock, local_today
from shared.migrations import upgrade
from shared.service import ServiceRuntime
from shared.settings import Settings
from tests.services.conftest import COUNTY, DEFINITION, DONGSHAN, HECUN, SHANGCUN, XISHUI, wait_for

START = datetime(2026, 3, 2, 9, 0, tzinfo=LOCAL_ZONE)

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
    "hecun": {
        "subject": "zhang-wei",
        "role": Role.village,
        "county_id": COUNTY,
        "township_id": XISHUI,
        "village_id": HECUN,
    },
    "ops": {"subject": "ops", "role": Role.ops, "county_id": COUNTY},
}


@dataclass
class Registry:
    """The registry app with a manual clock, and helpers that read its database directly."""

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

    def as_(self, who: str, method: str, url: str, **kwargs: Any) -> Response:
        return self.client.request(method, url, headers=self.headers[who], **kwargs)

    def register(self, who: str = "dongshan", **fields: Any) -> dict[str, Any]:
        body = {"name": "好味餐馆", "kind": "catering", "village_id": SHANGCUN, **fields}
        response = self.as_(who, "POST", "/businesses", json=body)
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
        import json

        query = "SELECT body FROM outbox ORDER BY id"
        with self.runtime.db.engine.connect() as connection:
            bodies = connection.execute(sa.text(query)).scalars().all()
        envelopes = [json.loads(body) for body in bodies]
        return [item for item in envelopes if event_type is None or item["type"] == event_type]

    def advance(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))


WRITES_NOTHING = ("businesses", "licences", "staff", "health_certificates", "banquets", "outbox", "audit_log")


@contextmanager
def running_registry(
    settings: Settings, clock: ManualClock, *, load_places: bool = True
) -> Iterator[Registry]:
    """The registry app started (relay, consumers, expiry loop) and stopped around the block."""
    upgrade(SPEC.migrations, settings.database_url("registry"))
    with TestClient(create(settings, clock)) as client:
        system = Registry(client=client, clock=clock, settings=settings)
        system.headers = {
            who: {"Authorization": f"Bearer {issue_token(settings, **claims)}"}
            for who, claims in TOKENS.items()
        }
        if load_places:
            response = system.as_("county", "PUT", "/places", json=DEFINITION)
            assert response.status_code == 200, response.text
        yield system


@pytest.fixture
def registry(settings: Settings) -> Iterator[Registry]:
    with running_registry(settings, ManualClock(START)) as system:
        yield system


def names_of(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["items"]]


__all__ = ["COUNTY", "DONGSHAN", "HECUN", "SHANGCUN", "XISHUI", "Registry", "names_of", "wait_for"]
