"""The identity service's own metadata and infrastructure tables, and its place directory."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.db import add_infrastructure_tables
from shared.places import add_place_directory


class Base(SQLModel, registry=registry()):
    """The identity service's tables: a registry of their own, so a metadata of their own."""


infra = add_infrastructure_tables(Base.metadata)
place_directory = add_place_directory(Base.metadata)
