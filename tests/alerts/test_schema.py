"""The alerts migrations make exactly the schema of the alerts models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.alerts.app import SPEC
from tests.support.alerts import Alerts


def test_the_migrations_make_the_models_schema(alerts: Alerts):
    with alerts.runtime.db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SPEC.metadata)
    assert differences == []
