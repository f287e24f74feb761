"""A demo county running in-process: the four service apps on one real Redis, SQLite under tmp.

Each app runs in its own TestClient (its own event loop thread), with its relay and consumers, so
events really travel through Redis between them.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from shared.auth import Role, issue_token
from shared.migrations import upgrade
from shared.settings import SERVICE_NAMES, Settings

COUNTY = "qingyun"
DONGSHAN = "qingyun.dongshan"
XISHUI = "qingyun.xishui"
SHANGCUN = "qingyun.dongshan.shangcun"
XIACUN = "qingyun.dongshan.xiacun"
HECUN = "qingyun.xishui.hecun"

DEFINITION = {
    "id": COUNTY,
    "name": "青云县",
    "townships": [
        {
            "id": DONGSHAN,
            "name": "东山镇",
            "villages": [
                {"id": SHANGCUN, "name": "上村", "coordinator": "李明"},
                {"id": XIACUN, "name": "下村", "coordinator": "王芳"},
            ],
        },
        {"id": XISHUI, "name": "西水乡", "villages": [{"id": HECUN, "name": "河村", "coordinator": "张伟"}]},
    ],
}


def wait_for(check: Callable[[], object], *, timeout: float = 10.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


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


def _bearer(settings: Settings, **claims: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, **claims)}"}  # type: ignore[arg-type]


@pytest.fixture
def county(settings: Settings) -> Iterator[County]:
    for name in SERVICE_NAMES:
        module = importlib.import_module(f"services.{name}.app")
        upgrade(module.SPEC.migrations, settings.database_url(name))
    with ExitStack() as stack:
        clients = {
            name: stack.enter_context(
                TestClient(importlib.import_module(f"services.{name}.app").create(settings))
            )
            for name in SERVICE_NAMES
        }
        system = County(settings=settings, clients=clients)
        system.tokens = {
            "county": _bearer(settings, subject="county-office", role=Role.county, county_id=COUNTY),
            "dongshan": _bearer(
                settings, subject="ds-office", role=Role.township, county_id=COUNTY, township_id=DONGSHAN
            ),
            "xishui": _bearer(
                settings, subject="xs-office", role=Role.township, county_id=COUNTY, township_id=XISHUI
            ),
            "inspector": _bearer(
                settings, subject="ds-inspector", role=Role.inspector, county_id=COUNTY, township_id=DONGSHAN
            ),
            "shangcun": _bearer(
                settings,
                subject="li-ming",
                role=Role.village,
                county_id=COUNTY,
                township_id=DONGSHAN,
                village_id=SHANGCUN,
            ),
            "ops": _bearer(settings, subject="ops", role=Role.ops, county_id=COUNTY),
        }
        response = clients["registry"].put("/places", json=DEFINITION, headers=system.tokens["county"])
        assert response.status_code == 200, response.text
        for name in ("alerts", "reporting"):
            wait_for(
                lambda name=name: _knows_place(system, name, HECUN),
                what=f"{name} to learn the places",
            )
        yield system


def _knows_place(system: County, service: str, place_id: str) -> bool:
    runtime = system.clients[service].app.state.runtime
    from shared.places import find_place

    table = importlib.import_module(f"services.{service}.database").place_directory
    with runtime.db.session() as session:
        return find_place(session, table, place_id) is not None


def count_rows(system: County, service: str, table: str) -> int:
    """Rows in one of a service's tables, read straight from its database."""
    import sqlalchemy as sa

    runtime = system.clients[service].app.state.runtime
    with runtime.db.engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
