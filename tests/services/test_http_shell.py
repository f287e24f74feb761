"""The HTTP shell every service shares: routes as units of work, production exposure, outages."""

from __future__ import annotations

import importlib
import logging
import secrets
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from shared.auth import Role, issue_token
from shared.migrations import upgrade
from shared.routing import UnitOfWorkRoute
from shared.settings import DATA_SERVICES, SERVICE_NAMES, Settings

COUNTY = "qingyun"


@pytest.mark.parametrize("name", DATA_SERVICES)  # the web process has no database
def test_every_route_of_every_service_is_a_unit_of_work(name: str) -> None:
    spec = importlib.import_module(f"services.{name}.app").SPEC
    routes = [route for router in spec.routers for route in router.routes]
    assert routes
    for route in routes:
        assert isinstance(route, UnitOfWorkRoute), f"{name}: {route.path} is a {type(route).__name__}"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_production_hides_the_docs_and_guards_the_metrics(name: str, settings: Settings) -> None:
    key, metrics_token = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    production = settings.model_copy(
        update={"env": "production", "secret_key": key, "metrics_token": metrics_token}
    )
    client = TestClient(importlib.import_module(f"services.{name}.app").create(production))
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404, path
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    shown = client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    assert shown.status_code == 200
    assert "shian_http_requests_total" in shown.text
    assert client.get("/healthz").status_code == 200

    opened = production.model_copy(update={"public_docs": True})
    assert (
        TestClient(importlib.import_module(f"services.{name}.app").create(opened))
        .get("/openapi.json")
        .status_code
        == 200
    )
    development = TestClient(importlib.import_module(f"services.{name}.app").create(settings))
    assert development.get("/openapi.json").status_code == 200
    assert development.get("/metrics").status_code == 200


def test_a_database_outage_answers_503_with_retry_after_and_recovers(
    settings: Settings,
    pg_database: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from services.registry.app import SPEC, create

    url = pg_database()
    settings = settings.model_copy(update={"registry_database_url": url})
    upgrade(SPEC.migrations, url)
    token = issue_token(settings, subject="county-office", role=Role.county, county_id="qingyun")
    headers = {"Authorization": f"Bearer {token}"}
    county = {
        "id": "qingyun",
        "name": "青云县",
        "townships": [{"id": "qingyun.dongshan", "name": "东山镇", "villages": []}],
    }
    admin = sa.create_engine(sa.engine.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    database = sa.engine.make_url(url).database
    with TestClient(create(settings)) as client:
        assert client.put("/places", json=county, headers=headers).status_code == 200
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
            connection.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
            )
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            for _ in range(5):
                down = client.put("/places", json=county, headers=headers)
                assert down.status_code == 503, down.text
                assert int(down.headers["Retry-After"]) >= 1
                assert client.get("/places", headers=headers).status_code == 503
        assert not [record for record in caplog.records if record.exc_info], "no traceback per request"
        assert sum("database unavailable" in record.getMessage() for record in caplog.records) == 1
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        assert client.put("/places", json=county, headers=headers).status_code == 200
    admin.dispose()


def test_a_caller_past_the_rate_limit_gets_429_and_others_do_not(settings: Settings) -> None:
    from services.registry.app import SPEC, create

    upgrade(SPEC.migrations, settings.database_url("registry"))
    limited = settings.model_copy(update={"rate_limit_per_minute": 5})
    hasty, other = (
        {
            "Authorization": "Bearer "
            + issue_token(settings, subject=who, role=Role.county, county_id="qingyun")
        }
        for who in ("a", "b")
    )
    county = {
        "id": COUNTY,
        "name": "青云县",
        "townships": [{"id": "qingyun.dongshan", "name": "东山镇", "villages": []}],
    }
    with TestClient(create(limited)) as client:
        assert client.put("/places", json=county, headers=other).status_code == 200
        answers = [client.get("/places", headers=hasty).status_code for _ in range(8)]
        assert answers[:5] == [200] * 5
        assert answers[5:] == [429] * 3
        refused = client.get("/places", headers=hasty)
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert client.get("/places", headers=other).status_code == 200
        assert client.get("/healthz").status_code == 200
        assert 'reason="rate_limited"' in client.get("/metrics").text


def test_an_idempotency_key_is_honoured_on_postgresql(
    settings: Settings, pg_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.registry.app import SPEC, create

    url = pg_database()
    settings = settings.model_copy(update={"registry_database_url": url})
    upgrade(SPEC.migrations, url)
    headers = {
        "Authorization": "Bearer " + issue_token(settings, subject="c", role=Role.county, county_id=COUNTY)
    }
    village = {"id": "qingyun.dongshan.shangcun", "name": "上村"}
    county = {
        "id": COUNTY,
        "name": "青云县",
        "townships": [{"id": "qingyun.dongshan", "name": "东山镇", "villages": [village]}],
    }
    body = {"name": "好味餐馆", "kind": "catering", "village_id": village["id"]}
    with TestClient(create(settings)) as client:
        assert client.put("/places", json=county, headers=headers).status_code == 200
        keyed = {**headers, "Idempotency-Key": "pg-key-1"}
        first = client.post("/businesses", json=body, headers=keyed)
        again = client.post("/businesses", json=body, headers=keyed)
        assert (first.status_code, again.status_code) == (201, 201), again.text
        assert again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"
        assert client.get("/businesses", headers=headers).json()["total"] == 1
