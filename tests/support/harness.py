"""One service app in-process for its own tests: the app in a TestClient on the test Redis, SQLite
under tmp, a pinned `ManualClock`, and the people of the demo county as bearer headers.

What other services would send is fed to the app's inbox processor as envelopes (`feed`), the same
path an event from Redis takes after decoding; what the service wrote is read back from its own
database (`events` from the outbox, `counts` of rows). Each service's harness subclasses
`ServiceHarness` with the helpers only its tests use (tests/support/alerts.py, inspection.py,
registry.py); its conftest holds only the fixtures.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from shared.clock import ManualClock, local_today
from shared.events import Envelope, EventPayload
from shared.migrations import upgrade
from shared.service import ServiceRuntime, ServiceSpec
from shared.settings import Settings
from tests.support.county import COUNTY, DONGSHAN, TOKENS, headers_for

H = TypeVar("H", bound="ServiceHarness")


@dataclass
class ServiceHarness:
    """A service app with a manual clock, and helpers that read its database directly."""

    client: TestClient
    clock: ManualClock
    settings: Settings
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    writes: ClassVar[tuple[str, ...]] = ("outbox", "audit_log")
    """The tables `counts()` reads when given none: everything a refused request must leave alone."""

    @property
    def runtime(self) -> ServiceRuntime:
        return self.client.app.state.runtime  # type: ignore[attr-defined]

    @property
    def today(self) -> date:
        """The county's date on the pinned clock."""
        return local_today(self.clock)

    def as_(self, who: str, method: str, url: str, headers: dict | None = None, **kwargs: Any) -> Response:
        """A request with the bearer header of `who` (a name of tests.support.county.TOKENS)."""
        return self.client.request(method, url, headers={**self.headers[who], **(headers or {})}, **kwargs)

    def feed(
        self, payload: EventPayload, *, township_id: str | None = DONGSHAN, actor: str = "system:registry"
    ) -> Envelope:
        """Apply an event as if it had arrived from another service's stream, stamped with the clock."""
        envelope = Envelope.wrap(
            payload, county_id=COUNTY, township_id=township_id, actor=actor, occurred_at=self.clock.now()
        )
        result = self.runtime.processor.process([envelope])
        assert not result.errors, result.errors
        return envelope

    def events(self, event_type: str | None = None, incident_id: str | None = None) -> list[dict[str, Any]]:
        """Envelopes this service wrote to its outbox (published or not), oldest first, as JSON;
        only those of `event_type`, and only those whose payload names `incident_id`, when given."""
        with self.runtime.db.engine.connect() as connection:
            bodies = connection.execute(sa.text("SELECT body FROM outbox ORDER BY id")).scalars().all()
        envelopes = [json.loads(body) for body in bodies]
        return [
            envelope
            for envelope in envelopes
            if (event_type is None or envelope["type"] == event_type)
            and (incident_id is None or envelope["payload"].get("incident_id") == incident_id)
        ]

    def counts(self, *tables: str | tuple[str, ...]) -> dict[str, int]:
        """Rows in each table, read straight from the database: `counts("a", "b")` or
        `counts(("a", "b"))`; the harness's `writes` when no table is named."""
        names = [name for table in tables for name in ((table,) if isinstance(table, str) else table)]
        with self.runtime.db.engine.connect() as connection:
            return {
                name: int(connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one())
                for name in names or self.writes
            }

    def advance(self, days: float = 0, **delta: float) -> datetime:
        """Move the clock on (`advance(3)` is three days, `advance(hours=2)` two hours); the new now."""
        return self.clock.advance(timedelta(days=days, **delta))


@contextmanager
def running_service(
    harness: type[H],
    spec: ServiceSpec,
    create: Callable[..., FastAPI],
    settings: Settings,
    clock: ManualClock,
    **options: Any,
) -> Iterator[H]:
    """The service's database migrated, its app started (relay, consumers, loops) with `clock` and
    `options` for `create`, and stopped when the block ends."""
    upgrade(spec.migrations, settings.database_url(spec.name))
    with TestClient(create(settings, clock, **options)) as client:
        yield harness(client=client, clock=clock, settings=settings, headers=headers_for(settings, TOKENS))
