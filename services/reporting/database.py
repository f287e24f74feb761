"""The reporting service's own metadata and infrastructure tables."""

from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.db import add_infrastructure_tables
from shared.places import add_place_directory


class Base(SQLModel, registry=registry()):
    """The reporting service's tables: a registry of their own, so a metadata of their own."""

    if TYPE_CHECKING:  # what SQLAlchemy sets on every table class; SQLModel does not declare it
        __table__: ClassVar[sa.Table]


infra = add_infrastructure_tables(Base.metadata)
place_directory = add_place_directory(Base.metadata)


def register_tables() -> None:
    """Import every module that declares a table, so the metadata is complete (migrations, tests)."""
    import services.reporting.activities.models
    import services.reporting.documents.models
    import services.reporting.readmodels.alerts
    import services.reporting.readmodels.archive
    import services.reporting.readmodels.inspection
    import services.reporting.readmodels.registry  # noqa: F401
