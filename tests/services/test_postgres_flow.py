"""The four domain services on PostgreSQL (each its own database), through the same skeleton flow
(the in-process county has no identity; tests/identity/test_postgres.py runs identity on PostgreSQL)."""

from __future__ import annotations

import pytest

from shared.settings import DOMAIN_SERVICES as SERVICE_NAMES

pytestmark = pytest.mark.integration


@pytest.fixture
def county_on_postgres(pg_database, monkeypatch, request):
    for name in SERVICE_NAMES:
        monkeypatch.setenv(f"SHIAN_{name.upper()}_DATABASE_URL", pg_database())
    return request.getfixturevalue("county")


def test_the_skeleton_flow_on_postgres(county_on_postgres):
    from tests.services.test_flow import test_a_business_and_an_incident_reach_inspection_and_reporting

    for name in SERVICE_NAMES:
        runtime = county_on_postgres.clients[name].app.state.runtime
        assert runtime.db.is_postgres
    test_a_business_and_an_incident_reach_inspection_and_reporting(county_on_postgres)
