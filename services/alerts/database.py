"""The alerts service's own metadata and infrastructure tables."""

from sqlalchemy.orm import registry

from shared.db import ServiceModel, add_infrastructure_tables
from shared.places import add_place_directory


class Base(ServiceModel, registry=registry()):
    """The alerts service's tables: a registry of their own, so a metadata of their own."""


infra = add_infrastructure_tables(Base.metadata)
place_directory = add_place_directory(Base.metadata)


def register_tables() -> None:
    """Import every module that declares a table, so the metadata is complete (migrations, tests)."""
