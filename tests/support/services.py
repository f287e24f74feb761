"""The demo county running in-process: the four service apps on one real Redis, SQLite under tmp.

Each app runs in its own TestClient (its own event loop thread), with its relay and consumers, so
events really travel through Redis between them. `start_county` starts them, loads the places and
waits until alerts and reporting know them; the `county` fixture (tests/support/fixtures/county.py)
hands it to a test.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from fastapi.testclient import TestClient

from shared.clock import Clock
from shared.migrations import upgrade
from shared.places import find_place

# The in-process county is the four domain services with `shian token`'s tokens; a test that needs
# identity too starts it beside them (tests/support/identity.py).
from shared.settings import DOMAIN_SERVICES as SERVICE_NAMES
from shared.settings import Settings
from tests.support.county import DEFINITION, HECUN, SHANGCUN, TOKENS, headers_for
from tests.support.waiting import wait_for


@dataclass
class County:
    settings: Settings
    clients: dict[str, TestClient]
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def __getattr__(self, name: str) -> TestClient:
        try:
            return self.clients[name]
        except KeyError:
            raise AttributeError(name) from None

    def headers(self, who: str) -> dict[str, str]:
        return self.tokens[who]

    def register_business(self, who: str = "dongshan", **fields: object) -> dict:
        body = {"name": "好味餐馆", "kind": "catering", "village_id": SHANGCUN, **fields}
        response = self.registry.post("/businesses", json=body, headers=self.headers(who))
        assert response.status_code == 201, response.text
        return response.json()


@contextmanager
def start_county(settings: Settings, clock: Clock | None = None) -> Iterator[County]:
    """The four services on their migrated databases, with `clock` (the system's if None), the
    demo places loaded and known to alerts and reporting; stopped when the block ends."""
    for name in SERVICE_NAMES:
        module = importlib.import_module(f"services.{name}.app")
        upgrade(module.SPEC.migrations, settings.database_url(name))
    with ExitStack() as stack:
        clients = {
            name: stack.enter_context(
                TestClient(importlib.import_module(f"services.{name}.app").create(settings, clock))
            )
            for name in SERVICE_NAMES
        }
        system = County(settings=settings, clients=clients, tokens=headers_for(settings, TOKENS))
        response = clients["registry"].put("/places", json=DEFINITION, headers=system.tokens["county"])
        assert response.status_code == 200, response.text
        for name in ("alerts", "reporting"):
            wait_for(
                lambda name=name: knows_place(system, name, HECUN),
                what=f"{name} to learn the places",
            )
        yield system


def knows_place(system: County, service: str, place_id: str) -> bool:
    """Whether `service` has learnt the place (from `place.defined`)."""
    runtime = system.clients[service].app.state.runtime
    table = importlib.import_module(f"services.{service}.database").place_directory
    with runtime.db.session() as session:
        return find_place(session, table, place_id) is not None


def count_rows(system: County, service: str, table: str) -> int:
    """Rows in one of a service's tables, read straight from its database."""
    runtime = system.clients[service].app.state.runtime
    with runtime.db.engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
