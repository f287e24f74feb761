"""The HTTP shell's promises every service keeps, held for identity too until it joins
SERVICE_NAMES (and tests/services/test_http_shell.py with it)."""

from __future__ import annotations

import secrets

from fastapi.testclient import TestClient

from services.identity.app import SPEC, create
from shared.routing import UnitOfWorkRoute
from shared.settings import Settings


def test_every_route_is_a_unit_of_work() -> None:
    routes = [route for router in SPEC.routers for route in router.routes]
    assert routes
    for route in routes:
        assert isinstance(route, UnitOfWorkRoute), route.path


def test_production_hides_the_docs_and_guards_the_metrics(settings: Settings) -> None:
    key, metrics_token = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    production = settings.model_copy(
        update={"env": "production", "secret_key": key, "metrics_token": metrics_token}
    )
    client = TestClient(create(production))
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404, path
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"}).status_code == 200
    assert client.get("/healthz").status_code == 200
    assert TestClient(create(settings)).get("/openapi.json").status_code == 200
